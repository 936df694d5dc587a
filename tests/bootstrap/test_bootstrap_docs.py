"""docs/security.md's bootstrap sequence is copy-paste correct: it reads every bootstrap output while the
bootstrap's own backend is still the current one, reads only outputs that exist, and creates each platform
stack with its own environment's secrets provider."""

from __future__ import annotations

import re
from pathlib import Path

from tests.bootstrap.test_bootstrap import bootstrap

DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"


def sequence() -> list[str]:
    text = DOC.read_text()
    block = text[text.index("## Bootstrap, step by step"):]
    commands = re.search(r"```sh\n(.*?)```", block, re.S)
    assert commands, "the bootstrap section has a sh block"
    return [line.split("#")[0].strip() for line in commands.group(1).splitlines() if line.split("#")[0].strip()]


def test_every_output_is_read_before_switching_to_the_platforms_backend():
    lines = sequence()
    switch = next(i for i, line in enumerate(lines) if re.match(r'pulumi login "?\$', line))
    reads = [i for i, line in enumerate(lines) if "stack output" in line]
    assert reads and max(reads) < switch, "read the bootstrap's outputs before `pulumi login <bucket>`"
    assert all("-C bootstrap" in lines[i] for i in reads)


def test_the_sequence_reads_only_outputs_the_bootstrap_exports():
    outputs = set(bootstrap().outputs)
    used = {m for line in sequence() for m in re.findall(r"stack output (\w+)", line)}
    assert used and used <= outputs, used - outputs


def test_each_stack_gets_its_own_environments_secrets_provider():
    lines = sequence()
    assert 'pulumi stack init dev --secrets-provider "$DEV_SECRETS"' in lines
    assert 'pulumi stack init prod --secrets-provider "$PROD_SECRETS"' in lines
    assert any(line.startswith("DEV_SECRETS=") and '["dev"]' in line for line in lines)
    assert any(line.startswith("PROD_SECRETS=") and '["prod"]' in line for line in lines)
