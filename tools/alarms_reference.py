"""Generate docs/monitoring.md (the alarms table) from the alarm catalog.

    python -m tools.alarms_reference            # print the section
    python -m tools.alarms_reference --write    # update docs/monitoring.md (also: make docs)
"""

from __future__ import annotations

import argparse

from components.alarms import ALARMS, AlarmSpec
from tools.doc_sections import ROOT, update_section

DOC = ROOT / "docs" / "monitoring.md"
SECTION = "monitoring"

TIER_NAMES = {
    "load_balancer": "ALB + target group",
    "service": "web service",
    "database": "RDS instance",
    "database_replica": "each RDS read replica",
    "cache_node": "each cache node",
    "job": "each scheduled job",
    "worker_queue": "each worker's queue",
    "worker_dlq": "each worker's dead-letter queue",
}

INTRO = """\
`components/monitoring.py` builds the stack's operations layer; everything below is generated from
`components/alarms.py` by `make docs` (a test fails when it is stale).

- **Topic**: one SNS topic, `{system}-{env}-monitoring-alarms-sns`, encrypted with the telemetry KMS key.
  Its policy lets only this account's CloudWatch alarms (`alarm:{system}-{env}-*`) and EventBridge rules
  (`rule/{system}-{env}-*`) publish, over TLS. The key's policy lets CloudWatch use it for this
  account's alarms; EventBridge's grant has no source condition, because AWS does not support one
  for EventBridge delivering to an encrypted topic (the topic policy still admits only this stack's rules).
- **Subscriptions**: stg and prod refuse to deploy without one (`monitoring.require_subscriber`,
  [deploy-safety.md](deploy-safety.md)). `monitoring.alarm_emails` subscribes each address; it receives nothing until
  someone clicks the link in the AWS confirmation e-mail. An address removed from config before it
  was confirmed leaves Pulumi's state but stays in AWS as "pending confirmation" (AWS refuses to
  delete unconfirmed subscriptions; SNS removes them itself after 48 hours).
  `monitoring.webhooks` subscribes HTTPS endpoints (set them with `pulumi config set --secret`; the
  URL stays secret in state and in error messages). The endpoint must confirm the subscription itself
  (fetch the `SubscribeURL` of SNS's first message, as PagerDuty or Opsgenie integration URLs do) and
  accept SNS's JSON: `pulumi up` waits 2 minutes for that and fails otherwise. Slack / Teams
  incoming-webhook URLs do neither; put AWS Chatbot or a small relay in between.
- **Alarms**: one per row below and per subject (every cache node, every job, every read replica), named
  `{system}-{env}-monitoring-<key>[-<subject>]-alarm`; each notifies the topic on ALARM and on OK. An
  alarm fires when the condition holds in *every* one of its evaluation periods. Tiers that are absent
  get no alarms (replication lag needs a replica).
- **Deployment safety**: the rows marked *rollback* are the web service's ECS deployment alarms: a
  deployment during which one of them goes to ALARM is rolled back.
- **Pipeline failures**: an EventBridge rule matches `CodePipeline Pipeline Execution State Change`
  events with state `FAILED` for the stack's pipeline and sends a one-line message with the console link
  to the topic. Failed scheduled runs also publish their own event to the topic (the job's failure rule).
- **Dashboard**: `{system}-{env}-monitoring-dashboard` shows every alarm's state, then the golden
  signals of each tier (traffic, errors, latency, saturation).
- **Tuning**: `monitoring.thresholds.<key>` (in the unit shown), `monitoring.evaluation_periods.<key>`
  and `monitoring.disabled_alarms` override the defaults; dev values apply to `dev`, prod values to
  `stg` and `prod`. Bad values stop the program before it creates anything.
"""


def _metric(spec: AlarmSpec) -> str:
    names = ", ".join(f"`{m.namespace}` {m.name} ({m.stat})" for m in spec.metrics)
    return f"{names}: `{spec.expression}`" if spec.expression else names


def _dimensions(spec: AlarmSpec) -> str:
    dims = sorted({d for m in spec.metrics for d in m.dimensions})
    return ", ".join(dims)


def _condition(spec: AlarmSpec) -> str:
    dev, prod = spec.threshold.dev, spec.threshold.prod
    values = f"{dev:g}" if dev == prod else f"{dev:g} / {prod:g}"
    return f"{spec.comparison} {values} {spec.unit}"


def _periods(spec: AlarmSpec) -> str:
    dev, prod = int(spec.evaluation_periods.dev), int(spec.evaluation_periods.prod)
    counts = f"{dev}" if dev == prod else f"{dev} / {prod}"
    return f"{counts} x {spec.period} s"


def render() -> str:
    lines = [
        INTRO,
        "| Key | Watches | Metric | Dimensions | ALARM when (dev / prod) | Periods (dev / prod) | Missing data |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for spec in ALARMS:
        key = f"`{spec.key}`" + (" (rollback)" if spec.deployment else "")
        what = f"{TIER_NAMES[spec.tier]}: {spec.summary}"
        missing = f"{spec.missing}: {spec.missing_reason}"
        cells = [key, what, _metric(spec), _dimensions(spec), _condition(spec), _periods(spec), missing]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", action="store_true", help="update docs/monitoring.md in place")
    args = parser.parse_args(argv)
    if args.write:
        changed = update_section(DOC, SECTION, render())
        print("docs/monitoring.md monitoring section " + ("updated" if changed else "already up to date"))
    else:
        print(render(), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
