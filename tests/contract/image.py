"""What the reference app's Dockerfile must declare to run under the platform's task definition.

Docker cannot run on these machines, so the image is not built here: the Dockerfile is parsed
(dockerfile-parse) and linted (hadolint), and its instructions are compared with the settings that
build the task definition (components/settings.py defaults, components/web_service.py volumes).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from dockerfile_parse import DockerfileParser
from packaging.markers import Marker

from components import settings as s
from components.web_service import SCRATCH_VOLUMES

APP = Path(__file__).resolve().parents[2] / "examples" / "django-app"


def image_requirements() -> dict[str, tuple[str, bool]]:
    """name -> (pinned version, whether its marker holds here) for each line of the image's requirements.txt."""
    found = re.findall(r"^([A-Za-z0-9_.-]+)==([^\s;]+)(?: ; ([^\\]+?))? \\$", (APP / "requirements.txt").read_text(),
                       re.MULTILINE)
    return {name: (version, not marker or Marker(marker).evaluate()) for name, version, marker in found}


def _default(section: type, key: str) -> object:
    return next(meta["default"] for name, meta, _ in s.walk(section) if name == key)


def dockerfile_problems(dockerfile: Path) -> list[str]:
    """Every way the Dockerfile does not fit the task definition; empty when it fits."""
    parser = DockerfileParser(path=str(dockerfile))
    instructions = [(i["instruction"], i["value"]) for i in parser.structure]
    last = {name: value for name, value in instructions}  # the last of each instruction wins
    problems = []
    base = parser.baseimage or ""
    if ":" not in base.split("/")[-1] or base.endswith(":latest"):
        problems.append(f"FROM {base}: pin a tag")
    user = last.get("USER", "")
    if not re.fullmatch(r"[1-9]\d*(:\d+)?", user):
        problems.append(f"USER {user or '(none)'}: a numeric non-root uid[:gid], as the task definition's user")
    expected_user = _default(s.ServiceSettings, "user")
    if user and user != expected_user:
        problems.append(f"USER {user}: the task definition runs {expected_user} (service.user)")
    port = _default(s.ServiceSettings, "port")
    exposed = {p.split("/")[0] for v in (v for n, v in instructions if n == "EXPOSE") for p in v.split()}
    if str(port) not in exposed:
        problems.append(f"EXPOSE {' '.join(sorted(exposed)) or '(none)'}: the container port is {port}")
    volumes: set[str] = set()
    for name, value in instructions:
        if name == "VOLUME":
            volumes |= set(json.loads(value)) if value.startswith("[") else set(value.split())
    for path in SCRATCH_VOLUMES.values():
        if path not in volumes:
            problems.append(f"VOLUME {path} missing: the task mounts it writable on a read-only root filesystem, "
                            "and only a declared VOLUME keeps the image's permissions (mode 1777)")
    command = _default(s.ServiceSettings, "command")
    cmd = last.get("CMD", "")
    if not cmd.startswith("[") or json.loads(cmd) != command:
        problems.append(f"CMD {cmd}: the task definition runs {json.dumps(command)} (service.command)")
    return problems


def hadolint(dockerfile: Path) -> subprocess.CompletedProcess[str]:
    binary = Path(sys.executable).parent / "hadolint"
    return subprocess.run([str(binary), "--no-color", str(dockerfile)], capture_output=True, text=True, check=False)
