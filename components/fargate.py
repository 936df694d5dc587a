"""Fargate task sizes: the CPU/memory pairs AWS accepts.

AWS rejects any other pair at deploy time ("No Fargate configuration exists for given values"),
so settings validate against this table up front. Source: Amazon ECS developer guide,
"Task CPU and memory" (Fargate), checked 2026-11.
"""

from __future__ import annotations

# cpu units -> (lowest memory MiB, highest memory MiB, step MiB)
_MEMORY_BY_CPU: dict[int, tuple[int, int, int]] = {
    256: (512, 2048, 512),  # 512, 1024 and 2048 only (the step is checked below)
    512: (1024, 4096, 1024),
    1024: (2048, 8192, 1024),
    2048: (4096, 16384, 1024),
    4096: (8192, 30720, 1024),
    8192: (16384, 61440, 4096),
    16384: (32768, 122880, 8192),
}

VALID_CPU = tuple(_MEMORY_BY_CPU)


def valid_memory(cpu: int) -> list[int]:
    """Every memory size (MiB) Fargate accepts for `cpu` units; empty for an invalid cpu."""
    if cpu == 256:
        return [512, 1024, 2048]
    if cpu not in _MEMORY_BY_CPU:
        return []
    low, high, step = _MEMORY_BY_CPU[cpu]
    return list(range(low, high + 1, step))


def is_valid_size(cpu: int, memory: int) -> bool:
    return memory in valid_memory(cpu)


def describe_valid_sizes(cpu: int) -> str:
    """A short sentence for error messages: what memory fits this cpu, or which cpu values exist."""
    sizes = valid_memory(cpu)
    if not sizes:
        return f"cpu must be one of {', '.join(map(str, VALID_CPU))}"
    if len(sizes) <= 4:
        listed = ", ".join(map(str, sizes))
    else:
        listed = f"{sizes[0]} to {sizes[-1]} in steps of {sizes[1] - sizes[0]}"
    return f"memory for cpu {cpu} must be {listed} MiB"
