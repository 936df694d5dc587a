"""The mock runtime itself: one test process runs hundreds of programs, so a run must leave nothing open or changed."""

from __future__ import annotations

import gc
import os
import threading

import pytest

from components.settings import SettingsError
from tools.mock_runtime import ROOT, run_stack


def open_descriptors() -> int:
    return len(os.listdir("/dev/fd"))


def test_a_run_closes_what_the_previous_run_opened():
    """Each run has its own event loop, and pulumi's mock monitor opens one more in its executor thread: an
    epoll descriptor and a socket pair each. The next run closes them, not the garbage collector (which may
    not run for a long while: tests/conftest.py), or a test process runs out of select()'s 1,024 descriptors."""
    gc.disable()
    try:
        run_stack("bootstrap", project_dir=ROOT / "bootstrap")
        descriptors, threads = open_descriptors(), threading.active_count()  # the last run's are still open
        for _ in range(3):
            run_stack("bootstrap", project_dir=ROOT / "bootstrap")
        assert open_descriptors() <= descriptors  # fewer: whatever an earlier test left may close meanwhile
        assert threading.active_count() <= threads
    finally:
        gc.enable()


def test_the_sdks_stack_walk_is_off_for_a_run_only():
    """run_stack skips the SDK's per-registration stack walk while the program runs (tools/mock_runtime.py), and
    puts it back afterwards, also when the program fails: anything else this process runs gets it as before."""
    from pulumi.runtime import resource

    walk = resource._get_stack_trace
    run_stack("bootstrap", project_dir=ROOT / "bootstrap")
    assert resource._get_stack_trace is walk
    with pytest.raises(SettingsError):
        run_stack("dev", overrides={"service.cpu": "300"})
    assert resource._get_stack_trace is walk
