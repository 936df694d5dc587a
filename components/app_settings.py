"""What the Django container needs to reach the data tier, handed over as ECS container secrets.

- Connection settings (no secret among them) are SSM parameters under one path per system and env,
  `/{system}/{env}/app/...`, so operators and one-off tasks read them from one place.
  They are SecureStrings under the data key all the same: the tasks decrypt with that key anyway, and
  scanners that flag plain `String` parameters (CKV2_AWS_34) stay quiet.
- The Django SECRET_KEY is generated once into Secrets Manager (see components/generated_secret.py).
- `container_secrets` lists every variable with where ECS reads it from: the RDS-managed master secret
  by JSON key (`<arn>:username::`, `<arn>:password::`), the cache AUTH token secret, the Django key and
  the SSM parameters; its `execution_role_statements()` allow reading exactly those and decrypting with
  exactly the data key. No value reaches a task definition's `environment`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components import app_contract
from components.cache import Cache
from components.context import StackContext
from components.database import Database
from components.generated_secret import generated_secret
from components.workloads import ContainerSecret, ContainerSecrets

# Variables the data tier sets in every Django container (components/app_contract.py declares them all).
CONNECTION_SETTINGS = app_contract.names(app_contract.PARAMETER)
CREDENTIALS = app_contract.names(app_contract.SECRET)
RESERVED_ENV_NAMES = CONNECTION_SETTINGS + CREDENTIALS


@dataclass
class AppSettingsArgs:
    ctx: StackContext
    database: Database
    cache: Cache
    key_arn: pulumi.Input[str]  # the data key: SSM parameters, the Django key secret (and the data tier's secrets)


class AppSettings(pulumi.ComponentResource):
    container_secrets: ContainerSecrets

    def __init__(self, name: str, args: AppSettingsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("django-platform:app_settings:AppSettings", name, None, opts)
        ctx, db, cache, key = args.ctx, args.database, args.cache, args.key_arn
        self.path = ctx.namer.path("app")

        values: dict[str, pulumi.Input[str]] = {
            "DATABASE_ENGINE": db.engine,
            "DATABASE_HOST": db.address,
            "DATABASE_PORT": pulumi.Output.from_input(db.port).apply(str),
            "DATABASE_NAME": db.db_name,
            "DATABASE_TLS": "true",  # the parameter group refuses unencrypted connections (database.py)
            "REDIS_HOST": cache.primary_endpoint_address,
            "REDIS_PORT": str(cache.port),
            "REDIS_TLS": "true",  # in-transit encryption is always on: clients must use rediss://
        }
        self.parameter_names: dict[str, str] = {}
        entries: list[ContainerSecret] = []
        if set(values) != set(CONNECTION_SETTINGS):
            raise ValueError(f"app settings: the contract's parameters are {CONNECTION_SETTINGS}, set {sorted(values)}")
        for variable in CONNECTION_SETTINGS:
            parameter_name = ctx.namer.path("app", variable)
            parameter = aws.ssm.Parameter(
                ctx.namer.name("app", "ssm", variable),
                name=parameter_name,
                type="SecureString",
                key_id=key,
                value=values[variable],
                description=f"{variable} for the Django tasks (not a secret; read as an ECS container secret)",
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.parameter_names[variable] = parameter_name
            entries.append(ContainerSecret(variable, parameter.arn, parameter.arn, key))

        django_key = generated_secret(ctx, "app", "django-secret-key", "Django SECRET_KEY", key, self)
        self.django_secret_key_arn = django_key.arn
        master = db.master_user_secret_arn
        entries += [
            # The RDS-managed secret is JSON {"username": ..., "password": ...}: inject single keys.
            ContainerSecret("DATABASE_USER", master.apply(lambda arn: f"{arn}:username::"), master, key),
            ContainerSecret("DATABASE_PASSWORD", master.apply(lambda arn: f"{arn}:password::"), master, key),
            ContainerSecret("REDIS_AUTH_TOKEN", cache.auth_token_secret_arn, cache.auth_token_secret_arn, key),
            ContainerSecret("DJANGO_SECRET_KEY", django_key.arn, django_key.arn, key),
        ]
        self.container_secrets = ContainerSecrets(tuple(entries))
        self.register_outputs({"path": self.path, "django_secret_key_arn": self.django_secret_key_arn})
