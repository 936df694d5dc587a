"""A private S3 bucket with the settings every platform bucket shares, created once here.

Public access blocked (all four flags), object ownership enforced (ACLs off: CloudFront OAC requires
"Bucket owner enforced", CloudFront developer guide "Restrict access to an Amazon S3 origin"), SSE-KMS
with a customer-managed key and an S3 Bucket Key (fewer KMS requests), and a bucket policy that denies
every request not made over TLS plus whatever the caller grants. Versioning and lifecycle rules are the
caller's choice: uploads need versions, published static files do not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True)
class PrivateBucket:
    resource_name: str
    bucket: aws.s3.Bucket
    access_block: aws.s3.BucketPublicAccessBlock
    ready: list[pulumi.Resource]  # the bucket with its access block, ownership and encryption in place

    @property
    def name(self) -> pulumi.Output[str]:
        return self.bucket.bucket

    @property
    def arn(self) -> pulumi.Output[str]:
        return self.bucket.arn

    def attach_policy(self, grants: Sequence[dict[str, Any]] = ()) -> aws.s3.BucketPolicy:
        """The bucket policy: TLS only, plus `grants` (Allow statements). Separate from the bucket because
        a grant may name what needs the bucket first (a CloudFront distribution)."""
        bucket = self.bucket
        return aws.s3.BucketPolicy(
            self.resource_name, bucket=bucket.id,
            policy=pulumi.Output.json_dumps({"Version": "2012-10-17",
                                             "Statement": [deny_insecure_transport(bucket.arn), *grants]}),
            # One configuration change at a time per bucket (S3 answers OperationAborted to concurrent ones).
            opts=pulumi.ResourceOptions(parent=bucket, depends_on=[self.access_block]))


def deny_insecure_transport(bucket_arn: pulumi.Input[str]) -> dict[str, Any]:
    return {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": [bucket_arn, pulumi.Output.concat(bucket_arn, "/*")],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}


def private_bucket(name: str, key_arn: pulumi.Input[str], parent: pulumi.Resource, *, force_destroy: bool,
                   opts: pulumi.ResourceOptions | None = None) -> PrivateBucket:
    bucket = aws.s3.Bucket(name, bucket=name, force_destroy=force_destroy,
                           opts=pulumi.ResourceOptions.merge(pulumi.ResourceOptions(parent=parent), opts))
    child = pulumi.ResourceOptions(parent=bucket)
    blocked = aws.s3.BucketPublicAccessBlock(name, bucket=bucket.id, block_public_acls=True, block_public_policy=True,
                                             ignore_public_acls=True, restrict_public_buckets=True, opts=child)
    owned = aws.s3.BucketOwnershipControls(name, bucket=bucket.id, rule=aws.s3.BucketOwnershipControlsRuleArgs(
        object_ownership="BucketOwnerEnforced"), opts=child)
    encrypted = aws.s3.BucketServerSideEncryptionConfiguration(
        name, bucket=bucket.id,
        rules=[aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
            apply_server_side_encryption_by_default=aws.s3.
            BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                sse_algorithm="aws:kms", kms_master_key_id=key_arn),
            bucket_key_enabled=True)],
        opts=child)
    return PrivateBucket(name, bucket, blocked, [bucket, blocked, owned, encrypted])


def versioned_with_expiry(name: str, bucket: aws.s3.Bucket, rule_id: str, days: pulumi.Input[int]) -> None:
    """Versioning, and a lifecycle that expires every object after `days` (old versions after one day, as
    do unfinished multipart uploads): the retention of the platform's log buckets."""
    child = pulumi.ResourceOptions(parent=bucket)
    aws.s3.BucketVersioning(name, bucket=bucket.id, versioning_configuration=aws.s3.
                            BucketVersioningVersioningConfigurationArgs(status="Enabled"), opts=child)
    aws.s3.BucketLifecycleConfiguration(name, bucket=bucket.id, rules=[
        aws.s3.BucketLifecycleConfigurationRuleArgs(
            id=rule_id, status="Enabled",
            filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
            expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=days),
            noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                noncurrent_days=1),
            abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                days_after_initiation=1),
        )], opts=child)
