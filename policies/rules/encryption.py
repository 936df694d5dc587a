"""Encryption at rest and in transit (mandatory by default)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from pulumi_policy import EnforcementLevel

from .core import (
    MISSING,
    Context,
    Finding,
    Resource,
    Rule,
    Unchecked,
    has_value,
    is_unknown,
    items,
    lb_types,
    number,
    references,
    text,
    truthy,
)
from .secrets import DEFAULT_ALLOWED_ENV_NAMES, SECRET_NAME_PATTERN, command_problems, environment_problems

BUCKET_TYPES = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
SSE_TYPES = ("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
             "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2")
BUCKET_POLICY_TYPES = ("aws:s3/bucketPolicy:BucketPolicy",)
AWS_MANAGED_ALIASES = ("alias/aws/",)
# Regional ELB log-delivery accounts (older regions deliver through these instead of the service principal).
ELB_ACCOUNTS = ("127311923021", "033677994240", "027434742980", "797873946194", "985666609251", "054676820928",
                "156460612806", "652711504416", "009996457667", "897822967062", "582318560864", "600734575887",
                "383597477331", "114774131450", "783225319266", "718504428378", "507241528517")
ELB_LOG_PRINCIPAL = "logdelivery.elasticloadbalancing.amazonaws.com"


def _cmk(value: Any) -> bool | None:
    """A customer-managed key reference: True, False (missing / AWS-managed alias), None (unknown)."""
    if is_unknown(value):
        return None
    key = text(value)
    return key is not None and not any(a in key for a in AWS_MANAGED_ALIASES)


def _require(resource: Resource, path: str, what: str) -> Iterator[str]:
    if truthy(resource.get(path)) is False:
        yield f"{resource.type.split(':')[-1]} {resource.name!r}: {what} ({path} is not true)."


# ---------------------------------------------------------------------------------------------------


def _rds_storage(resource: Resource, ctx: Context) -> Iterator[str]:
    if has_value(resource.get("replicateSourceDb")):
        return  # a read replica inherits its source's encryption
    yield from _require(resource, "storageEncrypted", "storage is not encrypted")
    if truthy(resource.get("storageEncrypted")) and _cmk(resource.get("kmsKeyId")) is False:
        yield f"{resource.name!r} is encrypted with the AWS-managed key; set kmsKeyId to a customer-managed key."


def _rds_performance_insights(resource: Resource, ctx: Context) -> Iterator[str]:
    enabled = truthy(resource.get("performanceInsightsEnabled"))
    advanced = resource.get("databaseInsightsMode") == "advanced"
    if (enabled or advanced) and _cmk(resource.get("performanceInsightsKmsKeyId")) is False:
        yield f"{resource.name!r} has Performance Insights without performanceInsightsKmsKeyId."


def _elasticache(resource: Resource, ctx: Context) -> Iterator[str]:
    if resource.type == "aws:elasticache/cluster:Cluster":
        if has_value(resource.get("replicationGroupId")):
            return  # a member of a replication group, which carries the encryption settings
        yield (f"cluster {resource.name!r} is a standalone ElastiCache cluster, which cannot encrypt data at rest; "
               "use an aws.elasticache.ReplicationGroup (or a ServerlessCache with kmsKeyId).")
        return
    if resource.type == "aws:elasticache/serverlessCache:ServerlessCache":
        if _cmk(resource.get("kmsKeyId")) is False:  # always encrypted; without kmsKeyId by an AWS-owned key
            yield f"serverless cache {resource.name!r} has no kmsKeyId (a customer-managed key)."
        return
    yield from _require(resource, "atRestEncryptionEnabled", "data at rest is not encrypted")
    if truthy(resource.get("atRestEncryptionEnabled")) and _cmk(resource.get("kmsKeyId")) is False:
        yield f"{resource.name!r} encrypts at rest without kmsKeyId (a customer-managed key)."
    yield from _require(resource, "transitEncryptionEnabled", "traffic is not encrypted in transit")
    if resource.get("transitEncryptionMode") == "preferred":
        yield f"{resource.name!r} accepts unencrypted connections (transitEncryptionMode preferred, use required)."


# Engines whose TLS switch is a parameter: a default parameter group (`default.{family}`) cannot be changed and
# leaves it off. RDS for PostgreSQL 15 and later default rds.force_ssl to 1
# (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/PostgreSQL.Concepts.General.SSL.html#PostgreSQL.Concepts.General.SSL.Requiring);
# MySQL/MariaDB require_secure_transport and Aurora's rds.force_ssl/require_secure_transport default to off
# (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/mysql-ssl-connections.require-ssl.html,
# https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/AuroraPostgreSQL.Security.html).
TLS_PARAMETER_ENGINES = ("postgres", "mysql", "mariadb", "aurora", "aurora-mysql", "aurora-postgresql", "sqlserver")
PG_FORCE_SSL_BY_DEFAULT = 15


def _default_parameter_group(resource: Resource, ctx: Context) -> Iterator[str]:
    engine = resource.get("engine")
    if is_unknown(engine) or not isinstance(engine, str) or not engine.startswith(TLS_PARAMETER_ENGINES):
        return
    if has_value(resource.get("replicateSourceDb")):
        return  # a read replica: its source's rules apply
    cluster = resource.type == "aws:rds/cluster:Cluster"
    if not cluster and engine.startswith("aurora"):
        return  # an Aurora instance: TLS is the cluster parameter group's
    prop = "dbClusterParameterGroupName" if cluster else "parameterGroupName"
    group = resource.get(prop)
    if is_unknown(group) or (isinstance(group, str) and group and not group.startswith("default.")):
        return
    version = resource.get("engineVersion")
    if is_unknown(version):
        return
    major = re.match(r"(\d+)", text(version) or "")
    # Without engineVersion RDS picks its default PostgreSQL version, 15 or later since 2023.
    if engine == "postgres" and (major is None or int(major.group(1)) >= PG_FORCE_SSL_BY_DEFAULT):
        return
    which = f"the default parameter group {group}" if isinstance(group, str) and group else "no parameter group " \
        "(the engine's default group)"
    yield (f"{resource.name!r} ({engine}) uses {which}, which does not force TLS connections; give it a parameter "
           f"group of its own that does ({prop}).")


def _ecr(resource: Resource, ctx: Context) -> Iterator[str]:
    configs = items(resource.get("encryptionConfigurations"))
    if is_unknown(resource.get("encryptionConfigurations")) or any(is_unknown(c) for c in configs):
        return
    kinds = [c.get("encryptionType") for c in configs if isinstance(c, dict)]
    if any(is_unknown(k) for k in kinds):
        return
    if not any(k in ("KMS", "KMS_DSSE") for k in kinds):
        yield f"repository {resource.name!r} uses AES256; set encryptionConfigurations [{{encryptionType: KMS}}]."
    elif not any(_cmk(c.get("kmsKey")) is not False for c in configs if isinstance(c, dict)):
        yield f"repository {resource.name!r} uses the AWS-managed ECR key; set kmsKey."


def _log_group(resource: Resource, ctx: Context) -> Iterator[str]:
    if _cmk(resource.get("kmsKeyId")) is False:
        yield f"log group {resource.get('name', resource.name)!r} has no kmsKeyId."


def _messaging(resource: Resource, ctx: Context) -> Iterator[str]:
    raw_key = resource.get("kmsMasterKeyId")
    key = _cmk(raw_key)
    aws_managed = text(raw_key) is not None and key is False  # alias/aws/sqs, alias/aws/sns: encrypted, AWS key
    if resource.type == "aws:sqs/queue:Queue":
        sse = truthy(resource.get("sqsManagedSseEnabled"))
        if key is False and ctx.config.get("requireCustomerManagedKey"):
            what = f"the AWS-managed key {raw_key}" if aws_managed else "no kmsMasterKeyId"
            yield f"queue {resource.name!r} has {what}; set kmsMasterKeyId to a customer-managed key."
        elif key is False and sse is False and not aws_managed:
            yield f"queue {resource.name!r} is not encrypted; set kmsMasterKeyId or sqsManagedSseEnabled."
    elif aws_managed:
        # The AWS-managed SNS key's policy cannot be changed: CloudWatch alarms, EventBridge and other AWS
        # services cannot publish to the topic, so alarms would be lost silently.
        yield (f"topic {resource.name!r} uses the AWS-managed key {raw_key}, which CloudWatch alarms and "
               "EventBridge cannot use; set kmsMasterKeyId to a customer-managed key.")
    elif key is False:
        yield f"topic {resource.name!r} is not encrypted; set kmsMasterKeyId."


def _secret(resource: Resource, ctx: Context) -> Iterator[str]:
    if _cmk(resource.get("kmsKeyId")) is False:
        yield f"secret {resource.name!r} uses the AWS-managed key aws/secretsmanager; set kmsKeyId."


def _ssm(resource: Resource, ctx: Context) -> Iterator[str | Unchecked]:
    kind = resource.get("type")
    if kind == "SecureString":
        return
    if is_unknown(kind):
        yield Unchecked("type")
        return
    pattern = str(ctx.config.get("secretPattern") or SECRET_NAME_PATTERN)
    for prop in ("name", "description"):
        value = text(resource.get(prop))
        if value and re.search(pattern, value):
            yield (f"parameter {resource.get('name', resource.name)!r} looks secret ({prop} matches the secret "
                   f"pattern) but its type is {kind if kind is not MISSING else 'String'}; use SecureString.")
            return


def _build_artifacts(resource: Resource, ctx: Context) -> Iterator[str]:
    if resource.type == "aws:codebuild/project:Project":
        if _cmk(resource.get("encryptionKey")) is False:
            yield f"project {resource.name!r} has no encryptionKey (a customer-managed KMS key)."
        for path in ("artifacts.encryptionDisabled",):
            if truthy(resource.get(path)):
                yield f"project {resource.name!r} disables artifact encryption ({path})."
        for index, artifact in enumerate(items(resource.get("secondaryArtifacts"))):
            if isinstance(artifact, dict) and truthy(artifact.get("encryptionDisabled")):
                yield f"project {resource.name!r} disables encryption of secondaryArtifacts[{index}]."
        return
    stores = resource.get("artifactStores")
    if is_unknown(stores):
        return
    if not items(stores):
        yield f"pipeline {resource.name!r} has no artifactStores."
    for index, store in enumerate(items(stores)):
        if not isinstance(store, dict):
            continue
        key = store.get("encryptionKey")
        if is_unknown(key):
            continue
        if not isinstance(key, dict) or _cmk(key.get("id")) is False:
            yield f"pipeline {resource.name!r}: artifactStores[{index}] has no encryptionKey {{id, type: KMS}}."


def _kms_rotation(resource: Resource, ctx: Context) -> Iterator[str]:
    spec = resource.get("customerMasterKeySpec", "SYMMETRIC_DEFAULT")
    usage = resource.get("keyUsage", "ENCRYPT_DECRYPT")
    if spec != "SYMMETRIC_DEFAULT" or usage != "ENCRYPT_DECRYPT" or has_value(resource.get("customKeyStoreId")):
        return  # only symmetric AWS-backed keys can rotate automatically
    if truthy(resource.get("enableKeyRotation")) is False:
        yield f"key {resource.name!r} does not rotate; set enableKeyRotation: true."


def _listener_protocol(resource: Resource) -> str | None:
    protocol = resource.get("protocol")
    if is_unknown(protocol):
        return None
    if isinstance(protocol, str):
        return protocol.upper()
    port = number(resource.get("port"))
    return "HTTP" if protocol is MISSING and port == 80 else None


TLS13_PREFIX = "ELBSecurityPolicy-TLS13-"
TLS12_PREFIXES = (TLS13_PREFIX, "ELBSecurityPolicy-TLS-1-2-", "ELBSecurityPolicy-FS-1-2-")


def _https_tls(resource: Resource, ctx: Context) -> Iterator[str]:
    if _listener_protocol(resource) not in ("HTTPS", "TLS"):
        return
    policy = resource.get("sslPolicy")
    if is_unknown(policy):
        return
    allowed = [p for p in ctx.config.get("allowedPolicies") or [] if isinstance(p, str)]
    minimum = ctx.config.get("minimumTls") or "1.3"
    name = policy if isinstance(policy, str) else "(none: the ELBSecurityPolicy-2016-08 default, TLS 1.0)"
    if allowed:
        ok = isinstance(policy, str) and policy in allowed
        expected = ", ".join(allowed)
    else:
        prefixes = (TLS13_PREFIX,) if minimum == "1.3" else TLS12_PREFIXES
        ok = isinstance(policy, str) and policy.startswith(prefixes)
        expected = f"a TLS {minimum}+ policy ({'/'.join(p + '*' for p in prefixes)})"
    if not ok:
        yield f"listener {resource.name!r} uses sslPolicy {name}; use {expected}."


def _http_redirect(resource: Resource, ctx: Context) -> Iterator[str]:
    if _listener_protocol(resource) != "HTTP":
        return
    actions = resource.get("defaultActions")
    if is_unknown(actions):
        return
    actions = items(actions)
    if len(actions) != 1 or not isinstance(actions[0], dict):
        yield f"HTTP listener {resource.name!r} has {len(actions)} default actions; it must only redirect to HTTPS."
        return
    action = actions[0]
    if is_unknown(action.get("type")) or is_unknown(action.get("redirect")):
        return
    protocol = action.get("redirect", {}).get("protocol") if isinstance(action.get("redirect"), dict) else None
    if is_unknown(protocol):
        return
    if action.get("type") != "redirect" or protocol != "HTTPS":
        yield (f"HTTP listener {resource.name!r} does {action.get('type')!r}"
               f"{' to ' + str(protocol) if protocol else ''}; it must redirect to HTTPS.")


FORCE_TLS = (("postgres", "rds.force_ssl", ("1",)), ("aurora-postgresql", "rds.force_ssl", ("1",)),
             ("mysql", "require_secure_transport", ("1", "on")), ("mariadb", "require_secure_transport", ("1", "on")),
             ("aurora-mysql", "require_secure_transport", ("1", "on")))


def _parameter_group_tls(resource: Resource, ctx: Context) -> Iterator[str]:
    family = text(resource.get("family"))
    if family is None:
        return
    match = next((f for f in FORCE_TLS if family.startswith(f[0]) and not (
        f[0] == "mysql" and family.startswith("aurora"))), None)
    if match is None:
        return
    _, parameter, values = match
    params = resource.get("parameters")
    if is_unknown(params):
        return
    for item in items(params):
        if isinstance(item, dict) and item.get("name") == parameter:
            value = item.get("value")
            if is_unknown(value) or str(value).lower() in values:
                return
            yield f"parameter group {resource.name!r} sets {parameter}={value}; set it to {values[0]}."
            return
    yield f"parameter group {resource.name!r} ({family}) does not set {parameter}={values[0]} (TLS not forced)."


def _task_secrets(resource: Resource, ctx: Context) -> Iterator[str | Unchecked]:
    raw = resource.get("containerDefinitions")
    if is_unknown(raw):
        yield Unchecked("containerDefinitions")
        return
    containers = raw
    if isinstance(raw, str):
        try:
            containers = json.loads(raw)
        except ValueError:
            return
    pattern = str(ctx.config.get("secretPattern") or SECRET_NAME_PATTERN)
    allowed = [g for g in ctx.config.get("allowedNames") or [] if isinstance(g, str)]
    for container in items(containers):
        if not isinstance(container, dict):
            continue
        where = f"container {container.get('name')!r} of {resource.name!r}"
        for problem in environment_problems(container.get("environment"), pattern, allowed):
            yield (f"{where}: {problem} in plain `environment`; move it to `secrets` (valueFrom a Secrets Manager "
                   "secret or SecureString parameter).")
        for key in ("command", "entryPoint"):
            for problem in command_problems(container.get(key)):
                yield (f"{where}: `{key}` {problem}; read the secret from a variable injected through `secrets` "
                       "instead.")


# ---------------------------------------------------------------------------------------------------
# S3 (stack): the bucket and its encryption configuration are separate resources in pulumi-aws 7


def _sse_rules(resource: Resource, path: str) -> list[dict[str, Any]] | None:
    value = resource.get(path)
    if is_unknown(value):
        return None
    found = []
    for rule in items(value):
        if is_unknown(rule):
            return None
        if isinstance(rule, dict):
            default = rule.get("applyServerSideEncryptionByDefault")
            if is_unknown(default):
                return None
            for item in items(default):
                if isinstance(item, dict):
                    found.append(item)
    return found


def is_alb_log_bucket(bucket: Resource, ctx: Context) -> bool:
    """An ALB access-log bucket: a load balancer's accessLogs.bucket names it, or its bucket policy lets ELB
    log delivery (the service principal or a regional ELB account) write to it."""
    for lb in ctx.of_type(*lb_types("loadBalancer:LoadBalancer")):
        logs = lb.get("accessLogs")
        names = {v for v in (bucket.get("bucket"), bucket.get("id")) if isinstance(v, str)}
        if isinstance(logs, dict) and (bucket.urn in lb.property_dependencies.get("accessLogs", []) or (
                isinstance(logs.get("bucket"), str) and logs["bucket"] in names)):
            return True
    for policy in ctx.of_type(*BUCKET_POLICY_TYPES):
        if not references(policy, "bucket", bucket):
            continue
        document = policy.get("policy")
        text_ = document if isinstance(document, str) else json.dumps(document)
        if ELB_LOG_PRINCIPAL in text_ or any(f"arn:aws:iam::{a}:root" in text_ for a in ELB_ACCOUNTS):
            return True
    return False


def _s3_encryption(ctx: Context) -> Iterator[Finding]:
    configs = list(ctx.of_type(*SSE_TYPES))
    require_cmk = ctx.config.get("requireCustomerManagedKey", True)
    for bucket in ctx.of_type(*BUCKET_TYPES):
        mine = [c for c in configs if references(c, "bucket", bucket)]
        if any(is_unknown(c.get("bucket")) for c in configs if c not in mine) and not mine:
            continue  # a configuration whose bucket is not known yet may be this bucket's
        defaults: list[dict[str, Any]] = []
        undecided = False
        # pulumi-aws 7: the encryption resource has `rules` (a list); the bucket's deprecated inline block (and
        # its read-back output) has one `rule`. That block is computed: in a preview's outputs it is unknown as a
        # whole when the program did not set it, which says nothing about the bucket's encryption.
        inline = [] if is_unknown(bucket.get("serverSideEncryptionConfiguration")) else [
            (bucket, "serverSideEncryptionConfiguration.rule"), (bucket, "serverSideEncryptionConfiguration.rules")]
        for source, path in [(c, "rules") for c in mine] + inline:
            found = _sse_rules(source, path)
            undecided = undecided or found is None
            defaults += found or []
        if undecided:
            continue
        name = bucket.get("bucket") if isinstance(bucket.get("bucket"), str) else bucket.name
        if not defaults:
            yield Finding(f"bucket {name!r} has no BucketServerSideEncryptionConfiguration (aws:kms).", bucket.urn)
            continue
        algorithms = {a if isinstance(a, str) else str(a) for a in (d.get("sseAlgorithm") for d in defaults)}
        if any(is_unknown(a) for a in algorithms):
            continue
        if algorithms & {"aws:kms", "aws:kms:dsse"}:
            keys = [d.get("kmsMasterKeyId") for d in defaults if d.get("sseAlgorithm") in ("aws:kms", "aws:kms:dsse")]
            if require_cmk and all(_cmk(k) is False for k in keys):
                yield Finding(f"bucket {name!r} uses aws:kms without kmsMasterKeyId (the AWS-managed aws/s3 key).",
                              bucket.urn)
            continue
        if ctx.config.get("allowSseS3ForAlbLogs", True) and is_alb_log_bucket(bucket, ctx):
            continue
        yield Finding(f"bucket {name!r} uses {', '.join(sorted(map(str, algorithms)))}; use aws:kms with a "
                      "customer-managed key (SSE-S3 is accepted only for ALB access-log buckets).", bucket.urn)


CMK_NOTE = "a customer-managed KMS key"

RULES = [
    Rule("rds-storage-encrypted", "encryption", "RDS instances and clusters encrypt storage with a customer-managed "
         "KMS key.", EnforcementLevel.MANDATORY, "set storageEncrypted: true and kmsKeyId to " + CMK_NOTE + ".",
         ("aws:rds/instance:Instance", "aws:rds/cluster:Cluster"), _rds_storage),
    Rule("rds-performance-insights-encrypted", "encryption", "RDS Performance Insights data is encrypted with a "
         "customer-managed KMS key.", EnforcementLevel.MANDATORY,
         "set performanceInsightsKmsKeyId to " + CMK_NOTE + " (or disable Performance Insights).",
         ("aws:rds/instance:Instance", "aws:rds/cluster:Cluster", "aws:rds/clusterInstance:ClusterInstance"),
         _rds_performance_insights),
    Rule("elasticache-encrypted", "encryption", "ElastiCache replication groups encrypt at rest with a KMS key and "
         "in transit (standalone clusters cannot; serverless caches need a key).", EnforcementLevel.MANDATORY,
         "set atRestEncryptionEnabled: true, kmsKeyId, transitEncryptionEnabled: true (mode required).",
         ("aws:elasticache/replicationGroup:ReplicationGroup", "aws:elasticache/cluster:Cluster",
          "aws:elasticache/serverlessCache:ServerlessCache"), _elasticache),
    Rule("s3-bucket-encrypted", "encryption", "Every S3 bucket has a server-side encryption configuration with "
         "aws:kms and a customer-managed key (SSE-S3 only for ALB access-log buckets).", EnforcementLevel.MANDATORY,
         "add aws.s3.BucketServerSideEncryptionConfiguration for the bucket with sseAlgorithm aws:kms and "
         "kmsMasterKeyId.", stack_check=_s3_encryption,
         config={"requireCustomerManagedKey": {"type": "boolean", "default": True,
                                               "description": "aws:kms must name a key (not the aws/s3 key)."},
                 "allowSseS3ForAlbLogs": {"type": "boolean", "default": True,
                                          "description": "Accept AES256 on buckets that receive ALB access logs."}}),
    Rule("ecr-kms-encrypted", "encryption", "ECR repositories are encrypted with a KMS key.",
         EnforcementLevel.MANDATORY, "set encryptionConfigurations: [{encryptionType: KMS, kmsKey: <key arn>}].",
         ("aws:ecr/repository:Repository",), _ecr),
    Rule("log-group-kms-encrypted", "encryption", "CloudWatch log groups are encrypted with a KMS key.",
         EnforcementLevel.MANDATORY, "set kmsKeyId to " + CMK_NOTE + " that logs.<region>.amazonaws.com may use.",
         ("aws:cloudwatch/logGroup:LogGroup",), _log_group),
    Rule("messaging-encrypted", "encryption", "SNS topics and SQS queues are encrypted.",
         EnforcementLevel.MANDATORY, "set kmsMasterKeyId (SNS, SQS) or sqsManagedSseEnabled: true (SQS).",
         ("aws:sns/topic:Topic", "aws:sqs/queue:Queue"), _messaging,
         config={"requireCustomerManagedKey": {"type": "boolean", "default": False,
                                               "description": "SQS queues need kmsMasterKeyId (SSE-SQS not enough)."}}),
    Rule("secret-customer-managed-key", "encryption", "Secrets Manager secrets use a customer-managed KMS key.",
         EnforcementLevel.MANDATORY, "set kmsKeyId to " + CMK_NOTE + ".",
         ("aws:secretsmanager/secret:Secret",), _secret),
    Rule("ssm-secret-securestring", "encryption", "SSM parameters whose name or description looks secret are "
         "SecureString.", EnforcementLevel.MANDATORY, "set type: SecureString (and keyId to " + CMK_NOTE + ").",
         ("aws:ssm/parameter:Parameter",), _ssm,
         config={"secretPattern": {"type": "string", "default": SECRET_NAME_PATTERN, "minLength": 1,
                                   "description": "Regex (Python) of names and descriptions that look secret."}}),
    Rule("build-artifacts-encrypted", "encryption", "CodeBuild projects and CodePipeline artifact stores use a "
         "customer-managed KMS key.", EnforcementLevel.MANDATORY,
         "set the project's encryptionKey and each artifactStores[].encryptionKey {id, type: KMS}.",
         ("aws:codebuild/project:Project", "aws:codepipeline/pipeline:Pipeline"), _build_artifacts),
    Rule("kms-key-rotation", "encryption", "Symmetric KMS keys rotate automatically.", EnforcementLevel.MANDATORY,
         "set enableKeyRotation: true.", ("aws:kms/key:Key",), _kms_rotation),
    Rule("alb-https-tls-policy", "encryption", "HTTPS/TLS listeners use a TLS 1.3 security policy (configurable "
         "down to TLS 1.2).", EnforcementLevel.MANDATORY,
         "set sslPolicy: ELBSecurityPolicy-TLS13-1-2-2021-06 (or another allowed policy).",
         lb_types("listener:Listener"), _https_tls,
         config={"minimumTls": {"type": "string", "enum": ["1.2", "1.3"], "default": "1.3",
                                "description": "Lowest TLS version the policy may accept."},
                 "allowedPolicies": {"type": "array", "items": {"type": "string"}, "default": [],
                                     "description": "Exact policy names; when set, replaces minimumTls."}}),
    Rule("alb-http-redirects-to-https", "encryption", "HTTP listeners only redirect to HTTPS.",
         EnforcementLevel.MANDATORY,
         "give the HTTP listener one default action {type: redirect, redirect: {protocol: HTTPS, port: 443, "
         "statusCode: HTTP_301}}.", lb_types("listener:Listener"), _http_redirect),
    Rule("rds-parameter-group-forces-tls", "encryption", "RDS parameter groups force TLS connections.",
         EnforcementLevel.MANDATORY, "set rds.force_ssl=1 (PostgreSQL) or require_secure_transport=1 (MySQL).",
         ("aws:rds/parameterGroup:ParameterGroup", "aws:rds/clusterParameterGroup:ClusterParameterGroup"),
         _parameter_group_tls),
    Rule("rds-custom-parameter-group", "encryption", "RDS instances and Aurora clusters use a parameter group of "
         "their own: the default groups do not force TLS (RDS for PostgreSQL 15+ excepted).",
         EnforcementLevel.MANDATORY, "set parameterGroupName (instances) or dbClusterParameterGroupName (Aurora) to a "
         "parameter group that forces TLS (see rds-parameter-group-forces-tls).",
         ("aws:rds/instance:Instance", "aws:rds/cluster:Cluster"), _default_parameter_group),
    Rule("ecs-task-no-plaintext-secrets", "encryption", "ECS task definitions pass no secret in plain text: no "
         "secret-looking variable names, credential-shaped values or passwords in URLs in container `environment`, "
         "no secret flags or assignments with literal values in `command`/`entryPoint`.", EnforcementLevel.MANDATORY,
         "pass secrets through the container's `secrets` (valueFrom Secrets Manager / SSM SecureString).",
         ("aws:ecs/taskDefinition:TaskDefinition",), _task_secrets,
         config={"secretPattern": {"type": "string", "default": SECRET_NAME_PATTERN, "minLength": 1,
                                   "description": "Regex (Python) of variable names that look secret."},
                 "allowedNames": {"type": "array", "items": {"type": "string"}, "default": DEFAULT_ALLOWED_ENV_NAMES,
                                  "description": "Globs of names that only point at secrets (e.g. *_ARN)."}}),
]
