"""A real S3-compatible server for tests: moto's server (its WSGI app, as `moto_server` runs it) behind a
counter of requests by method, in its own process.

    python -m tests.support.s3_server [--auth]

prints `listening on http://127.0.0.1:PORT` (a free port), flushed, then serves until terminated. With
``--auth``, moto checks every request's credentials (INITIAL_NO_AUTH_ACTION_COUNT=0), so unknown keys are
refused as S3 refuses them. `GET /_counts` answers {"PUT": n, ...} and `DELETE /_counts` sets them to zero:
the tests count uploads without touching boto3.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

Environ = dict[str, Any]
StartResponse = Callable[..., Any]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--auth", action="store_true")
    args = parser.parse_args()
    if args.auth:
        os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = "0"  # read when moto is imported
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    counts: Counter[str] = Counter()
    lock = threading.Lock()
    moto_app = DomainDispatcherApplication(create_backend_app)

    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/_counts":
            with lock:
                if environ["REQUEST_METHOD"] == "DELETE":
                    counts.clear()
                body = json.dumps(dict(counts)).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        with lock:
            counts[environ["REQUEST_METHOD"]] += 1
        result: Iterable[bytes] = moto_app(environ, start_response)
        return result

    server = make_server("127.0.0.1", 0, app, threaded=True)
    print(f"listening on http://127.0.0.1:{server.server_port}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    sys.exit(0)


if __name__ == "__main__":
    main()
