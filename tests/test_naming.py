"""Names: the seeds' convention, within every AWS type's own limit, shortened deterministically."""

from __future__ import annotations

import re

import pytest

from components.naming import DEFAULT_LIMIT, NAME_LIMITS, Namer

NAMER = Namer("django", "prod")
CONVENTION = re.compile(r"^django-prod-[a-z0-9]+(-[a-z0-9]+)*$")


def test_short_names_follow_the_convention_verbatim():
    assert NAMER.name("web", "alb") == "django-prod-web-alb"
    assert NAMER.name("db", "rds", "primary") == "django-prod-db-primary-rds"


def test_parts_are_slugged_to_lowercase_hyphenated():
    assert NAMER.name("Web Tier", "sg", "From_ALB") == "django-prod-web-tier-from-alb-sg"


@pytest.mark.parametrize(("kind", "limit"), sorted(NAME_LIMITS.items()))
def test_every_kind_fits_its_limit_and_keeps_prefix_and_kind(kind: str, limit: int):
    long_purpose = "a-deliberately-long-purpose-" * 30
    name = NAMER.name("component", kind, long_purpose)
    # Shortened to the limit; one less when the cut lands on a hyphen (never "--" in a name).
    assert limit - 1 <= len(name) <= limit, name
    assert CONVENTION.match(name) and name.endswith(f"-{kind}")
    assert name != NAMER.name("component", kind, long_purpose + "x")


@pytest.mark.parametrize(("kind", "limit"), sorted(NAME_LIMITS.items()))
def test_a_name_at_the_limit_is_not_shortened(kind: str, limit: int):
    fill = limit - len("django-prod--" + kind) - 1
    name = NAMER.name("c", kind, "x" * (fill - 1))
    assert len(name) == limit and name == f"django-prod-c-{'x' * (fill - 1)}-{kind}"


def test_shortening_is_deterministic_and_distinguishes_inputs():
    a = NAMER.name("cache", "redis", "sessions-and-celery-results")
    b = NAMER.name("cache", "redis", "sessions-and-celery-results-2")
    assert a == NAMER.name("cache", "redis", "sessions-and-celery-results")
    assert a != b and len(a) <= NAME_LIMITS["redis"] and len(b) <= NAME_LIMITS["redis"]


def test_alb_and_target_group_names_fit_32_characters():
    assert len(Namer("shop", "stg").name("web", "alb")) <= 32
    assert len(NAMER.name("web-tier", "tg", "django-http")) == 32


def test_unknown_kinds_use_the_tag_value_limit():
    assert len(NAMER.name("x", "vpc", "y" * 300)) == DEFAULT_LIMIT


def test_bucket_names_are_globally_unique_and_dns_compatible():
    name = NAMER.bucket("web", "access-logs", "123456789012")
    assert name == "django-prod-web-access-logs-123456789012-s3"
    long = NAMER.bucket("pipeline", "artifacts-for-the-delivery-pipeline", "123456789012")
    assert len(long) == 63 and re.fullmatch(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]", long)


def test_paths_carry_system_and_environment():
    assert NAMER.path("vpc", "flow logs") == "/django/prod/vpc/flow-logs"


@pytest.mark.parametrize(("system", "env"), [("Django", "dev"), ("django", "Prod"), ("dj_ango", "dev")])
def test_invalid_system_or_env_is_refused(system: str, env: str):
    with pytest.raises(ValueError, match="must be lowercase"):
        Namer(system, env)
