"""One policy pack process per test session (startup costs ~0.3 s, but keeps tests honest about state)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tools.analyzer import Diagnostic, PolicyPackProcess, WireResource

PACK_DIR = Path(__file__).resolve().parents[2] / "policies"
sys.path.insert(0, str(PACK_DIR))  # `import rules` as the pack's __main__.py does

BASE_CONFIG = {"pack-settings": {"system": "django"}}


class Pack:
    """The session's pack process with helpers that configure it before each call."""

    def __init__(self, process: PolicyPackProcess) -> None:
        self.process = process

    def configure(self, config: dict | None = None) -> None:
        merged = {**BASE_CONFIG, **(config or {})}
        if isinstance((config or {}).get("pack-settings"), dict):
            merged["pack-settings"] = {**BASE_CONFIG["pack-settings"], **config["pack-settings"]}
        self.process.configure(merged)

    def analyze(self, *resources: WireResource, config: dict | None = None) -> list[Diagnostic]:
        self.configure(config)
        return self.process.analyze_many(resources)

    def analyze_stack(self, *resources: WireResource, config: dict | None = None) -> list[Diagnostic]:
        self.configure(config)
        return self.process.analyze_stack(resources)

    def preview(self, resources: list[WireResource], config: dict | None = None) -> list[Diagnostic]:
        self.configure(config)
        return self.process.preview(resources)


@pytest.fixture(scope="session")
def pack_process() -> Iterator[PolicyPackProcess]:
    with PolicyPackProcess(PACK_DIR, stack="dev") as process:
        yield process


@pytest.fixture
def pack(pack_process: PolicyPackProcess) -> Pack:
    pack_process.analyze_stack([])  # flush exemptions recorded by an earlier test
    return Pack(pack_process)
