"""The self-managed Pulumi backend: a versioned, KMS-encrypted, private, TLS-only S3 bucket, and the
KMS key behind the `awskms://` secrets provider.

One key for the state and one secrets key per environment: the state key encrypts the bucket's objects
(S3 uses it on the caller's behalf, so roles get it only `kms:ViaService` S3); an environment's secrets
key encrypts its stack's config secrets and the secret values inside its state, and is what the
stack's `secretsprovider: awskms://...` names. A role can then read state files without being able to
decrypt the secrets in them, and the dev deploy role cannot decrypt prod's secrets (docs/security.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass
class StateBackendArgs:
    system: str
    account_id: str
    partition: str
    region: str
    environments: tuple[str, ...]  # one secrets key each
    noncurrent_days: int
    deletion_window_days: int


def bootstrap_name(system: str, purpose: str, kind: str) -> str:
    """`{system}-bootstrap-{purpose}-{kind}`: the platform's naming scheme with `bootstrap` as environment.

    No platform environment is called `bootstrap`, so the deploy role's IAM scope (`{system}-{env}-*`)
    never reaches the bootstrap's own roles.
    """
    return f"{system}-bootstrap-{purpose}-{kind}"


def key_policy(partition: str, account_id: str) -> dict:
    """Administration through IAM only: the account delegates to IAM policies (as AWS's default policy does),
    so who may use the key is decided by the role policies next to it, which the tests read."""
    return {"Version": "2012-10-17", "Statement": [{
        "Sid": "AccountAdministersThroughIam", "Effect": "Allow",
        "Principal": {"AWS": f"arn:{partition}:iam::{account_id}:root"},
        "Action": "kms:*", "Resource": "*",
    }]}


def tls_only_bucket_policy(bucket_arn: pulumi.Input[str]) -> dict:
    """Refuse every request over plain HTTP or TLS older than 1.2, whoever makes it."""
    resources = [bucket_arn, pulumi.Output.concat(bucket_arn, "/*")]
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": resources, "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        {"Sid": "DenyOutdatedTls", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": resources, "Condition": {"NumericLessThan": {"s3:TlsVersion": "1.2"}}},
    ]}


class StateBackend(pulumi.ComponentResource):
    """State bucket and the two keys; `backend_url` and `secrets_provider` are what stacks log in with."""

    def __init__(self, name: str, args: StateBackendArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("django-platform:bootstrap:StateBackend", name, None, opts)
        # Losing the state bucket or a key loses every stack: protected and retained, whatever the stack.
        keep = pulumi.ResourceOptions(parent=self, protect=True, retain_on_delete=True)
        self.state_key, _ = self._key(args, "state", "Pulumi state files in the state bucket", keep)
        secrets = {env: self._key(args, f"secrets-{env}", f"Pulumi secrets provider (awskms://) of the {env} "
                                  "stack: its config secrets and the secrets in its state", keep)
                   for env in args.environments}

        bucket_name = f"{args.system}-bootstrap-state-{args.account_id}-s3"  # globally unique: account id
        self.bucket = aws.s3.Bucket(bucket_name, bucket=bucket_name, force_destroy=False,
                                    tags={"Name": bucket_name}, opts=keep)
        child = pulumi.ResourceOptions(parent=self.bucket)
        blocked = aws.s3.BucketPublicAccessBlock(
            bucket_name, bucket=self.bucket.id, block_public_acls=True, block_public_policy=True,
            ignore_public_acls=True, restrict_public_buckets=True, opts=child)
        aws.s3.BucketOwnershipControls(bucket_name, bucket=self.bucket.id, rule=aws.s3.BucketOwnershipControlsRuleArgs(
            object_ownership="BucketOwnerEnforced"), opts=child)  # ACLs off: the bucket policy alone decides
        aws.s3.BucketServerSideEncryptionConfiguration(
            bucket_name, bucket=self.bucket.id,
            rules=[aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=aws.s3.
                BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                    sse_algorithm="aws:kms", kms_master_key_id=self.state_key.arn),
                bucket_key_enabled=True)],  # one data key per bucket, not one KMS call per object
            opts=child)
        # Every `pulumi up` rewrites the stack file: versions are the undo history of the state.
        aws.s3.BucketVersioning(bucket_name, bucket=self.bucket.id, versioning_configuration=aws.s3.
                                BucketVersioningVersioningConfigurationArgs(status="Enabled"), opts=child)
        aws.s3.BucketLifecycleConfiguration(bucket_name, bucket=self.bucket.id, rules=[
            aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="expire-superseded-state", status="Enabled",
                filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                    noncurrent_days=args.noncurrent_days),
                abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                    days_after_initiation=7),
            )], opts=child)
        aws.s3.BucketPolicy(bucket_name, bucket=self.bucket.id,
                            policy=pulumi.Output.json_dumps(tls_only_bucket_policy(self.bucket.arn)),
                            opts=pulumi.ResourceOptions(parent=self.bucket, depends_on=[blocked]))

        self.bucket_name = self.bucket.bucket
        self.bucket_arn = self.bucket.arn
        self.state_key_arn = self.state_key.arn
        self.secrets_key_arns = {env: key.arn for env, (key, _) in secrets.items()}
        self.backend_url = pulumi.Output.concat("s3://", self.bucket.bucket, f"?region={args.region}&awssdk=v2")
        self.secrets_providers = {env: pulumi.Output.concat("awskms://", alias.name, f"?region={args.region}")
                                  for env, (_, alias) in secrets.items()}
        self.register_outputs({"bucket_name": self.bucket_name, "backend_url": self.backend_url,
                               "secrets_providers": self.secrets_providers, "state_key_arn": self.state_key_arn,
                               "secrets_key_arns": self.secrets_key_arns})

    def _key(self, args: StateBackendArgs, purpose: str, description: str,
             opts: pulumi.ResourceOptions) -> tuple[aws.kms.Key, aws.kms.Alias]:
        name = bootstrap_name(args.system, purpose, "kms")
        key = aws.kms.Key(name, description=f"{args.system} bootstrap: {description}", enable_key_rotation=True,
                          deletion_window_in_days=args.deletion_window_days,
                          policy=pulumi.Output.json_dumps(key_policy(args.partition, args.account_id)),
                          tags={"Name": name}, opts=opts)
        alias = aws.kms.Alias(name, name=f"alias/{name}", target_key_id=key.key_id,
                              opts=pulumi.ResourceOptions(parent=self))
        return key, alias
