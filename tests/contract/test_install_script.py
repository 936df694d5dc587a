"""tools/install_test_servers.sh (called by `make test`): nothing to do when both servers are there; where it
cannot install (no apt-get), it names what to install and fails."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "tools" / "install_test_servers.sh"


def test_nothing_happens_when_both_servers_are_installed():
    result = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, check=False)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_without_apt_get_it_says_what_to_install_and_fails(tmp_path: Path):
    bin_dir = tmp_path / "bin"  # a PATH with `id` only: no apt-get, no redis-server, no initdb
    bin_dir.mkdir()
    (bin_dir / "id").symlink_to(shutil.which("id") or "/usr/bin/id")
    env = {**os.environ, "PATH": str(bin_dir)}
    result = subprocess.run([shutil.which("bash") or "/bin/bash", str(SCRIPT)], capture_output=True, text=True,
                            env=env, check=False)
    assert result.returncode == 1
    assert "The contract tests need" in result.stderr and "redis-server" in result.stderr
    assert "sudo apt-get install -y postgresql redis-server" in result.stderr
