"""Secret detection shared by the rules that read plain configuration (ECS containers, Lambda environments).

Three signals, none of which echoes the secret: a variable whose name looks secret, a value shaped like a
known credential (the shapes gitleaks recognizes: https://github.com/gitleaks/gitleaks/blob/master/config/gitleaks.toml),
and, in a command line, a secret-named flag or shell assignment followed by a literal (not a `$VARIABLE`).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator
from typing import Any

SECRET_NAME_PATTERN = (
    r"(?i)(passw(or)?d|passphrase|(^|[-_])pass($|[-_])|secret|token|api[-_ ]?key|private[-_ ]?key|access[-_ ]?key|"
    r"credential|auth[-_ ]?key|signing[-_ ]?key|encryption[-_ ]?key|master[-_ ]?key|session[-_ ]?key|"
    r"client[-_ ]?secret|(^|[-_])salt($|[-_])|(^|[-_])dsn($|[-_])|conn(ection)?[-_ ]?str(ing)?|webhook[-_ ]?url)")
DEFAULT_ALLOWED_ENV_NAMES = ["*_ARN", "*_ARNS", "*_NAME", "*_ID", "*_PATH", "*_FILE", "*_PARAMETER", "*_URL",
                             "*_ENDPOINT", "*_HOST", "*_PORT", "*_REGION"]
CREDENTIALS_IN_URL = re.compile(r"://[^/\s:@]+:[^/\s@]+@")
# Credential shapes (gitleaks rule ids in brackets).
SECRET_VALUES = {
    "an AWS access key id": r"\b(AKIA|ASIA)[0-9A-Z]{16}\b",  # [aws-access-token]
    "a private key": r"-----BEGIN[ A-Z0-9]*PRIVATE KEY( BLOCK)?-----",  # [private-key]
    "a GitHub token": r"\b(gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})",  # [github-pat] ...
    "a Slack token": r"\bxox[abposr]-[A-Za-z0-9-]{10,}",  # [slack-bot-token] ...
    "a Stripe live key": r"\b[rs]k_live_[A-Za-z0-9]{16,}",  # [stripe-access-token]
    "a Google API key": r"\bAIza[0-9A-Za-z_-]{35}\b",  # [gcp-api-key]
    "a JSON Web Token": r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",  # [jwt]
}
_VALUES = re.compile("|".join(f"(?P<v{i}>{p})" for i, p in enumerate(SECRET_VALUES.values())))
_SECRET_WORDS = r"[A-Za-z0-9_-]*(?:passw(?:or)?d|secret|token|api[-_]?key|access[-_]?key|private[-_]?key|credential)" \
                r"[A-Za-z0-9_-]*"
_FLAG = re.compile(rf"(?i)^--?({_SECRET_WORDS})(?:=(.*))?$")
_ASSIGNMENT = re.compile(rf"(?i)(?:^|[\s;&|(])({_SECRET_WORDS})=([^\s;&|)]*)")


def secret_value(value: str) -> str | None:
    """What kind of credential `value` contains, or None."""
    match = _VALUES.search(value)
    if match is None:
        return None
    return list(SECRET_VALUES)[int(next(k for k, v in match.groupdict().items() if v is not None)[1:])]


def _literal(value: str) -> bool:
    """A value written out, not a reference to a variable or a template placeholder."""
    value = value.strip("'\"")
    return bool(value) and not value.startswith(("$", "{{", "%", "<"))


def environment_problems(variables: Any, pattern: str, allowed: list[str]) -> Iterator[str]:
    """Why a list of {name, value} variables (ECS) or a {name: value} map (Lambda) holds a secret in plain text."""
    pairs = list(variables.items()) if isinstance(variables, dict) else [
        (v.get("name"), v.get("value")) for v in variables if isinstance(v, dict)] if isinstance(variables, list) \
        else []
    for name, value in pairs:
        if not isinstance(name, str):
            continue
        if re.search(pattern, name) and not any(fnmatch.fnmatchcase(name.upper(), g.upper()) for g in allowed):
            yield f"{name} has a secret-looking name"
            continue
        if not isinstance(value, str):
            continue
        if CREDENTIALS_IN_URL.search(value):  # e.g. DATABASE_URL=postgres://user:password@host
            yield f"{name} has a password in its URL"
        elif (kind := secret_value(value)) is not None:
            yield f"{name} holds {kind}"


def command_problems(arguments: Any) -> Iterator[str]:
    """Why a command or entry point (a list of strings, or one string) passes a secret as a literal."""
    words = [a for a in arguments if isinstance(a, str)] if isinstance(arguments, list) else (
        [arguments] if isinstance(arguments, str) else [])
    for index, word in enumerate(words):
        if (kind := secret_value(word)) is not None:
            yield f"argument {index} holds {kind}"
        elif CREDENTIALS_IN_URL.search(word):
            yield f"argument {index} has a password in a URL"
        else:
            for name, value in _ASSIGNMENT.findall(word):
                if _literal(value):
                    yield f"argument {index} assigns {name} a literal value"
    tokens = [t for word in words for t in word.split()]  # `sh -c "tool --password x"` is one argument
    for index, token in enumerate(tokens):
        flag = _FLAG.match(token.strip("'\""))
        if flag is None:
            continue
        value = flag.group(2) if flag.group(2) is not None else (tokens[index + 1] if index + 1 < len(tokens) else "")
        if _literal(value) and not value.startswith("-"):
            yield f"flag {flag.group(1)} is given a literal value"
