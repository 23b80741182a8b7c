"""Start the S3 test server (moto's server behind a request counter, ``tests.support.s3_server``) as a
process, and talk to it with boto3 and plain HTTP. Never a mock of boto3: the provider's uploads go over HTTP."""

from __future__ import annotations

import os
import select
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
import httpx

from .emulator import REPO_ROOT, stop_process

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client

# moto takes any key pair unless started with --auth; these are what the tests configure.
ACCESS_KEY_ID = "AKIATESTWORKSPACE01"
SECRET_ACCESS_KEY = "test-workspace-secret-key-0123456789"
REGION = "us-east-1"


@dataclass
class S3Server:
    process: subprocess.Popen[str]
    endpoint: str  # http://127.0.0.1:PORT

    def client(self) -> S3Client:
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY_ID,
            aws_secret_access_key=SECRET_ACCESS_KEY,
        )

    def counts(self) -> dict[str, int]:
        answer: dict[str, int] = httpx.get(f"{self.endpoint}/_counts", timeout=10).raise_for_status().json()
        return answer

    def reset_counts(self) -> None:
        httpx.delete(f"{self.endpoint}/_counts", timeout=10).raise_for_status()

    def puts(self) -> int:
        return self.counts().get("PUT", 0)

    def stop(self) -> None:
        stop_process(self.process)


@contextmanager
def s3_server(*, auth: bool = False) -> Iterator[S3Server]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    command = [sys.executable, "-m", "tests.support.s3_server", *(["--auth"] if auth else [])]
    process = subprocess.Popen(
        command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], 30)
        line = process.stdout.readline() if ready else ""
        if not line.startswith("listening on "):
            raise RuntimeError(f"the S3 test server did not start: {line!r}")
        yield S3Server(process, line.removeprefix("listening on ").strip())
    finally:
        stop_process(process)


def object_keys(client: Any, bucket: str) -> list[str]:
    listed = client.list_objects_v2(Bucket=bucket)
    return sorted(str(item["Key"]) for item in listed.get("Contents", []))
