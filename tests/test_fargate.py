"""Fargate CPU/memory pairs: exactly the table AWS documents."""

from __future__ import annotations

import pytest

from components import fargate


@pytest.mark.parametrize(("cpu", "memory"), [(256, 512), (256, 2048), (512, 4096), (1024, 2048), (2048, 16384),
                                              (4096, 30720), (8192, 61440), (16384, 122880)])
def test_documented_pairs_are_valid(cpu: int, memory: int):
    assert fargate.is_valid_size(cpu, memory)


@pytest.mark.parametrize(("cpu", "memory"), [(256, 1536), (256, 4096), (512, 512), (1024, 9216),
                                              (8192, 18432), (16384, 36864), (300, 1024)])
def test_other_pairs_are_invalid(cpu: int, memory: int):
    assert not fargate.is_valid_size(cpu, memory)


def test_descriptions_say_what_fits():
    assert fargate.describe_valid_sizes(256) == "memory for cpu 256 must be 512, 1024, 2048 MiB"
    assert fargate.describe_valid_sizes(1024) == "memory for cpu 1024 must be 2048 to 8192 in steps of 1024 MiB"
    assert fargate.describe_valid_sizes(3) == "cpu must be one of 256, 512, 1024, 2048, 4096, 8192, 16384"
