"""What an ``s3-download@v1`` job finds when it starts: the emulator looks for the objects its ``with`` names.

The real action copies a bucket path into the job's output volume and fails the job when there is nothing to
copy. The emulator keeps no secret values (only their digests), so it cannot sign a request: it asks the
endpoint without credentials (moto's server, which the tests start, answers unsigned requests). It looks only
at an explicit ``with.endpoint`` (a non-AWS bucket); a bucket on AWS is never contacted, and its download
succeeds unchecked. A ``url`` ending in ``/`` is a prefix (the docs' form, ``s3://bucket/path/``): listed, and
missing when it holds no object; any other ``url`` names one object (HEAD).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import httpx

S3_DOWNLOAD = "s3-download@v1"
TIMEOUT_SECONDS = 5.0
_KEY_COUNT = re.compile(rb"<KeyCount>(\d+)</KeyCount>")


def check(with_: dict[str, Any]) -> tuple[int, str | None]:
    """(exit code, message) of the download: 0 when there is something to copy (or nothing can be checked)."""
    url, endpoint = with_.get("url"), with_.get("endpoint")
    if not isinstance(endpoint, str) or not isinstance(url, str) or not url.startswith("s3://"):
        return 0, None
    bucket, _, key = url.removeprefix("s3://").partition("/")
    base = endpoint.rstrip("/")
    try:
        with httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=False) as client:
            if not key or key.endswith("/"):
                answer = client.get(
                    f"{base}/{quote(bucket)}", params={"list-type": "2", "prefix": key, "max-keys": "1"}
                )
                found = answer.status_code == 200 and _listed(answer.content)
            else:
                answer = client.head(f"{base}/{quote(bucket)}/{quote(key)}")
                found = answer.status_code == 200
    except httpx.HTTPError as error:
        return 1, f"s3-download: cannot reach {base}: {type(error).__name__}"
    if found:
        return 0, None
    if answer.status_code in (401, 403):
        return 1, f"s3-download: access to {url} at {base} was denied (HTTP {answer.status_code})"
    if answer.status_code in (200, 404):
        return 1, f"s3-download: nothing to download at {url} ({base})"
    return 1, f"s3-download: {url} at {base} answered HTTP {answer.status_code}"


def _listed(body: bytes) -> bool:
    count = _KEY_COUNT.search(body)
    return int(count.group(1)) > 0 if count else b"<Contents>" in body
