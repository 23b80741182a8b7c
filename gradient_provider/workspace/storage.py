"""The stack's S3-compatible bucket that workspaces are uploaded to, with boto3.

Settings come from Pulumi config (`gradient:workspaceBucket`, `gradient:workspaceEndpoint`,
`gradient:workspaceRegion`, and the credentials `gradient:workspaceAccessKeyId` and
`gradient:workspaceSecretAccessKey`, secret), else from boto3's standard places (AWS_ACCESS_KEY_ID and
AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL, AWS_REGION, a profile). Every failure says which key to fix; no
message, repr or log line holds a credential.

Objects are content-addressed: ``gradient-workspaces/<hash>/workspace.tar.gz``. One that is already there is
never uploaded again (one HEAD, no PUT).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError

from ..credentials import mask_text
from .pack import ARCHIVE_NAME
from .settings import (
    CONFIG_ACCESS_KEY_ID,
    CONFIG_BUCKET,
    CONFIG_ENDPOINT,
    CONFIG_REGION,
    CONFIG_SECRET_ACCESS_KEY,
    StorageSettings,
)

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client

PREFIX = "gradient-workspaces"
DEFAULT_REGION = "us-east-1"  # what signing needs when neither config nor the environment names one
PROGRESS_FROM_BYTES = 8 * 1000**2  # smaller uploads are quick: no progress lines
_CREDENTIALS_HINT = (
    f"set `pulumi config set {CONFIG_ACCESS_KEY_ID} <id>` and `pulumi config set --secret "
    f"{CONFIG_SECRET_ACCESS_KEY}`, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
)
_DENIED = {"403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken"}
_MISSING_BUCKET = {"404", "NoSuchBucket"}


class StorageError(Exception):
    """The bucket cannot be used; the message names the config key to fix."""


@dataclass(frozen=True, repr=False)
class Credentials:
    access_key_id: str
    secret_access_key: str

    def __repr__(self) -> str:
        return "Credentials(***)"


@dataclass(frozen=True)
class Location:
    bucket: str
    key: str
    endpoint: str | None
    region: str | None

    @property
    def prefix_url(self) -> str:
        """What `s3-download@v1` copies: the hash's folder (the docs' form, `s3://bucket/path/`)."""
        return f"s3://{self.bucket}/{self.key.rsplit('/', 1)[0]}/"


class Store:
    """One bucket, opened with resolved credentials (an open store has proven nothing yet: ``check`` does)."""

    def __init__(self, settings: StorageSettings) -> None:
        if not settings.bucket:
            raise StorageError(
                f"a local workspace needs a bucket to upload to: `pulumi config set {CONFIG_BUCKET} <bucket>` "
                f"(and {CONFIG_ENDPOINT} for a bucket that is not on AWS)"
            )
        if bool(settings.access_key_id) != bool(settings.secret_access_key):
            given = CONFIG_ACCESS_KEY_ID if settings.access_key_id else CONFIG_SECRET_ACCESS_KEY
            raise StorageError(f"only {given} is set: set both, {_CREDENTIALS_HINT}")
        self.settings = settings
        self.bucket = settings.bucket
        session = boto3.session.Session(
            aws_access_key_id=settings.access_key_id,
            aws_secret_access_key=settings.secret_access_key,
            region_name=settings.region,
        )
        found = session.get_credentials()
        if found is None:
            raise StorageError(f"no credentials for the workspace bucket {self.bucket!r}: {_CREDENTIALS_HINT}")
        frozen = found.get_frozen_credentials()
        if frozen.token:
            # s3-download@v1 takes a key pair only: a session token could not reach the job
            raise StorageError(
                f"the credentials found for the workspace bucket are temporary (a session token), which a "
                f"Gradient job cannot use: {_CREDENTIALS_HINT}"
            )
        if not frozen.access_key or not frozen.secret_key:
            raise StorageError(f"incomplete credentials for the workspace bucket {self.bucket!r}: {_CREDENTIALS_HINT}")
        self.credentials = Credentials(frozen.access_key, frozen.secret_key)
        self.region = settings.region or session.region_name or DEFAULT_REGION
        self.endpoint = settings.endpoint
        config = Config(
            region_name=self.region,
            connect_timeout=10,
            read_timeout=120,
            retries={"max_attempts": 4, "mode": "standard"},
            s3={"addressing_style": "path"} if self.endpoint else None,
        )
        self.client: S3Client = session.client("s3", endpoint_url=self.endpoint, config=config)

    def location(self, content_hash: str) -> Location:
        return Location(self.bucket, f"{PREFIX}/{content_hash}/{ARCHIVE_NAME}", self.endpoint, self.settings.region)

    def check(self) -> None:
        """The bucket exists and the credentials are accepted (one HEAD): before anything else is touched."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as error:
            raise self._explain(error, "HeadBucket") from None
        except BotoCoreError as error:
            raise self._explain(error, "HeadBucket") from None

    def exists(self, location: Location) -> bool:
        try:
            self.client.head_object(Bucket=location.bucket, Key=location.key)
        except ClientError as error:
            if _code(error) in ("404", "NoSuchKey", "NotFound"):
                return False
            raise self._explain(error, "HeadObject") from None
        except BotoCoreError as error:
            raise self._explain(error, "HeadObject") from None
        return True

    def upload(self, archive: Path, location: Location, report: Callable[[str], None]) -> None:
        total = archive.stat().st_size
        sent = 0
        shown = -1
        lock = threading.Lock()

        def progress(count: int) -> None:  # boto3 calls it from its transfer threads
            nonlocal sent, shown
            with lock:
                sent += count
                tenth = sent * 10 // max(total, 1)
                if total >= PROGRESS_FROM_BYTES and tenth != shown:
                    shown = tenth
                    percent = sent * 100 // max(total, 1)
                    report(f"uploaded {percent} % ({sent / 1000**2:.1f} of {total / 1000**2:.1f} MB)")

        try:
            self.client.upload_file(
                str(archive),
                location.bucket,
                location.key,
                ExtraArgs={"ContentType": "application/gzip"},
                Callback=progress,
                Config=TransferConfig(multipart_threshold=64 * 1024**2, multipart_chunksize=64 * 1024**2),
            )
        except ClientError as error:
            raise self._explain(error, "PutObject") from None
        except (BotoCoreError, boto3.exceptions.S3UploadFailedError) as error:
            raise self._explain(error, "PutObject") from None

    def _explain(self, error: Exception, operation: str) -> StorageError:
        where = f"bucket {self.bucket!r}" + (f" at {self.endpoint}" if self.endpoint else "")
        if isinstance(error, NoCredentialsError):
            return StorageError(f"no credentials for the workspace {where}: {_CREDENTIALS_HINT}")
        if isinstance(error, EndpointConnectionError):
            return StorageError(f"cannot reach the workspace {where}: check {CONFIG_ENDPOINT} (and {CONFIG_REGION})")
        code = _code(error) if isinstance(error, ClientError) else ""
        if isinstance(error, boto3.exceptions.S3UploadFailedError):
            code = next((c for c in _DENIED | _MISSING_BUCKET if c in str(error)), "")
        if code in _DENIED:
            return StorageError(f"the workspace {where} refused the credentials ({code}): {_CREDENTIALS_HINT}")
        if code in _MISSING_BUCKET and operation in ("HeadBucket", "PutObject"):
            return StorageError(
                f"the workspace bucket {self.bucket!r} does not exist"
                + (f" at {self.endpoint}" if self.endpoint else "")
                + f": create it, or set {CONFIG_BUCKET} (and {CONFIG_ENDPOINT}) to one that does"
            )
        detail = code or type(error).__name__
        return StorageError(mask_text(f"{operation} on the workspace {where} failed ({detail})"))


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))
