"""MediaStorage: the private bucket Django keeps user uploads in (django-storages' S3 backend).

- Private, TLS-only, SSE-KMS with the platform data key (components/buckets.py), versioned: an overwrite
  or a delete keeps the old version for `media.noncurrent_version_days`, the undo window.
- Only the web and worker task roles may use it, and only under `media/` (`access_statements`); no
  bucket policy grant, so nothing else in the account reads uploads without an IAM grant of its own.
- Browsers get presigned GET URLs (django-storages `querystring_auth`, the default), signed by the task
  role: a URL dies with the credentials that signed it, however long `expire` says (S3 user guide, "Sharing
  objects with presigned URLs": a URL signed with temporary credentials expires when they do).
- Lifecycle per environment: noncurrent versions expire, incomplete multipart uploads are aborted after
  a week, and `media.expiration_days` optionally expires uploads themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.buckets import private_bucket
from components.context import StackContext
from components.settings import MediaSettings

LOCATION = "media"  # django-storages `location`: every object key starts with media/
ABORT_MULTIPART_DAYS = 7


def access_statements(ctx: StackContext, bucket_arn: pulumi.Input[str],
                      key_arn: pulumi.Input[str]) -> list[dict[str, Any]]:
    """Read, write and delete uploads under media/ only; the data key only through S3."""
    return [
        {"Sid": "MediaObjects", "Effect": "Allow",
         "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
         "Resource": pulumi.Output.concat(bucket_arn, f"/{LOCATION}/*")},
        # django-storages' exists() and listdir() list the bucket; only keys under media/.
        {"Sid": "ListMediaPrefix", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": bucket_arn,
         "Condition": {"StringLike": {"s3:prefix": [f"{LOCATION}/*"]}}},
        # SSE-KMS: reading needs Decrypt, writing GenerateDataKey (S3 user guide, "Using SSE-KMS").
        {"Sid": "MediaKeyThroughS3", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
         "Resource": key_arn, "Condition": {"StringEquals": {"kms:ViaService": f"s3.{ctx.region}.amazonaws.com"}}},
    ]


@dataclass
class MediaStorageArgs:
    ctx: StackContext
    settings: MediaSettings
    key_arn: pulumi.Input[str]  # the platform data key


class MediaStorage(pulumi.ComponentResource):
    """The uploads bucket; `access_statements()` for the roles that use it, `environment` for the app."""

    def __init__(self, name: str, args: MediaStorageArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("django-platform:media_storage:MediaStorage", name, None, opts)
        ctx, settings = args.ctx, args.settings
        self._ctx, self._key_arn = ctx, args.key_arn
        bucket_name = ctx.namer.bucket("app", "media", ctx.account_id)
        stored = private_bucket(bucket_name, args.key_arn, self, force_destroy=not ctx.production_like,
                                opts=ctx.stateful())
        stored.attach_policy()  # TLS only; the roles' own policies grant access (access_statements)
        child = pulumi.ResourceOptions(parent=stored.bucket)
        versioning = aws.s3.BucketVersioning(
            bucket_name, bucket=stored.bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"), opts=child)
        rules = [aws.s3.BucketLifecycleConfigurationRuleArgs(
            id="old-versions-and-incomplete-uploads", status="Enabled",
            filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
            noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                noncurrent_days=settings.noncurrent_version_days),
            abort_incomplete_multipart_upload=aws.s3.
            BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                days_after_initiation=ABORT_MULTIPART_DAYS),
        )]
        if settings.expiration_days:
            rules.append(aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="expire-uploads", status="Enabled",
                filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=f"{LOCATION}/"),
                expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=settings.expiration_days)))
        # Lifecycle rules on a versioned bucket need versioning in place first (provider docs).
        aws.s3.BucketLifecycleConfiguration(bucket_name, bucket=stored.bucket.id, rules=rules,
                                            opts=pulumi.ResourceOptions(parent=stored.bucket,
                                                                        depends_on=[versioning]))

        self.bucket_name = stored.name
        self.bucket_arn = stored.arn
        self.environment: dict[str, pulumi.Input[str]] = {
            "MEDIA_BUCKET": self.bucket_name,
            "MEDIA_LOCATION": LOCATION,
            "MEDIA_REGION": ctx.region,
            "MEDIA_URL_EXPIRY": str(settings.url_expiry_seconds),
        }
        self.register_outputs({"bucket_name": self.bucket_name, "bucket_arn": self.bucket_arn})

    def access_statements(self) -> list[dict[str, Any]]:
        return access_statements(self._ctx, self.bucket_arn, self._key_arn)
