"""Secret config (`secure:` values) as the CLI hands it to the program, and as the offline preview stands in for it.

The CLI decrypts a `secure:` value, even one nested in an object (`pulumi config set --secret --path
monitoring.webhooks[0] ...`), passes the top-level key's object as a JSON string in PULUMI_CONFIG and lists
the whole top-level key in PULUMI_CONFIG_SECRET_KEYS. Offline nothing can be decrypted: each secret key
declares a placeholder that passes its check, and the preview masks it wherever it prints.
"""

from __future__ import annotations

import contextvars
import json
import typing

import pytest
from pulumi.runtime import config as runtime_config

from components import settings as s
from tools.mock_runtime import ROOT, SECRET_TEXT, UNKNOWN_SECRET, load_stack_config

BASE = {"repository": "example-org/django-app", "dns": {"domain": "app.example.com", "zone_name": "example.com"}}
HOOK = "https://hooks.example.com/services/T0/B0/SECRETTOKEN"


def test_every_secret_key_declares_a_placeholder_that_passes_its_check() -> None:
    declared = {key: (meta, kind) for key, meta, kind in s.walk(s.StackSettings)}
    assert s.secret_keys(), "the schema declares no secret key any more: drop this test with the placeholders"
    for key in s.secret_keys():
        meta, kind = declared[key]
        template = meta["placeholder"]
        assert template and "{n}" in template, key  # numbered: two secure items must not collide
        one, two = template.format(n=1), template.format(n=2)
        value = [one, two] if typing.get_origin(kind) is list else one
        assert meta["check"] is None or meta["check"](value) is None, (key, value)
        assert one != two and SECRET_TEXT.fullmatch(one) and SECRET_TEXT.fullmatch(two), key


def test_offline_placeholder_follows_the_path_of_the_secure_value() -> None:
    assert s.offline_placeholder(["monitoring", "webhooks", 0], 3) == "https://offline-placeholder-secret-3.invalid/webhook"
    # the whole list encrypted at once arrives as its JSON text
    assert json.loads(s.offline_placeholder(["monitoring", "webhooks"], 1) or "") == [
        "https://offline-placeholder-secret-1.invalid/webhook"]
    for undeclared in (["service", "environment", "SENTRY_DSN"], ["jobs", 0, "name"], ["monitoring"], ["nope", 1]):
        assert s.offline_placeholder(undeclared, 1) is None, undeclared


def test_the_mock_runtime_uses_the_declared_placeholders(tmp_path) -> None:
    stack_file = tmp_path / "Pulumi.dev.yaml"
    stack_file.write_text((ROOT / "Pulumi.dev.yaml").read_text() + (
        "  django-platform:monitoring:\n"
        "    webhooks:\n"
        "      - secure: v1:AAAA\n"
        "      - secure: v1:BBBB\n"
        "  django-platform:service:\n"
        "    environment:\n"
        "      SENTRY_DSN:\n"
        "        secure: v1:CCCC\n"))
    wire, secret_keys = load_stack_config("dev", path=stack_file)
    hooks = json.loads(wire["django-platform:monitoring"])["webhooks"]
    assert len(set(hooks)) == 2 and all(s.is_https_url(h) is None for h in hooks)
    assert json.loads(wire["django-platform:service"])["environment"]["SENTRY_DSN"] == UNKNOWN_SECRET  # undeclared
    assert sorted(set(secret_keys)) == ["django-platform:monitoring", "django-platform:service"]
    assert SECRET_TEXT.sub("[secret]", json.dumps(wire)).count("[secret]") == 3


def test_a_secret_webhook_loads_and_a_secure_value_elsewhere_is_refused() -> None:
    loaded = s.load({**BASE, "monitoring": json.dumps({"webhooks": [HOOK]})}, "dev", secure=["monitoring"])
    assert loaded.monitoring.webhooks == [HOOK]
    # A decrypted value in a section without secret keys would land in plain text in resource inputs.
    with pytest.raises(s.SettingsError) as caught:
        s.load({**BASE, "service": {"environment": {"SENTRY_DSN": HOOK, "Bad-Name": "x"}}}, "dev", secure=["service"])
    message = str(caught.value)
    assert "SECRETTOKEN" not in message
    refused = [p for p in caught.value.problems if p.key == "service"]
    assert len(refused) == 1 and refused[0].given == "[secret]" and "service.secrets" in refused[0].allowed
    assert all(p.given in ("[secret]", None) for p in caught.value.problems if p.key.startswith("service"))


def test_the_program_reads_secret_keys_the_way_the_language_host_passes_them(monkeypatch) -> None:
    # What pulumi-language-python puts in the program's environment for a stack with a secret webhook.
    config = {"aws:region": "us-east-1", "django-platform:repository": BASE["repository"],
              "django-platform:dns": json.dumps(BASE["dns"]),
              "django-platform:monitoring": json.dumps({"webhooks": [HOOK], "alarm_emails": ["ops@example.com"]})}
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps(config))

    def load(secret_keys: list[str]) -> s.StackSettings:
        monkeypatch.setenv("PULUMI_CONFIG_SECRET_KEYS", json.dumps(secret_keys))

        def fresh() -> s.StackSettings:
            runtime_config.set_all_config({}, [])  # nothing from a mock run: only the environment
            return s.load_from_pulumi_config("dev")

        return contextvars.copy_context().run(fresh)

    assert load(["django-platform:monitoring"]).monitoring.webhooks == [HOOK]
    with pytest.raises(s.SettingsError) as caught:
        load(["django-platform:monitoring", "django-platform:dns"])
    assert [p.key for p in caught.value.problems] == ["dns"]
