"""The Paperspace API v1 client: one httpx transport seam, typed errors, bounded retries.

Retries (tenacity): 429, 5xx and connection failures are retried with exponential backoff and full jitter,
honouring ``Retry-After``, within a bounded total time. A request that is not idempotent (a create) is never
sent twice blindly: when a failure may have been applied, the caller's ``recover`` looks the object up
first, and only when it is not there is the request sent again.
"""

from __future__ import annotations

import email.utils
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, stop_before_delay
from tenacity.wait import wait_random_exponential

from .errors import ConnectionFailedError, GradientApiError, error_from_response
from .settings import ClientSettings

log = logging.getLogger("gradient_provider.client")

T = TypeVar("T")
PAGE_SIZE = 120


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    max_seconds: float = 60.0  # total time budget for one logical request, waits included
    initial_wait: float = 0.5
    max_wait: float = 10.0


def _retryable(error: BaseException) -> bool:
    return isinstance(error, GradientApiError) and error.retryable and not getattr(error, "retry_forbidden", False)


class GradientClient:
    """Thread-safe: httpx's connection pool is, and the client keeps no per-request state."""

    def __init__(
        self,
        settings: ClientSettings,
        *,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.retry = retry or RetryPolicy()
        self._sleep = sleep  # the wait between attempts: a seam, so tests of retries need not wait
        self._jitter = wait_random_exponential(multiplier=self.retry.initial_wait, max=self.retry.max_wait)
        self._http = httpx.Client(
            base_url=settings.api_url + "/",
            headers={"Authorization": f"Bearer {settings.require_key()}", "User-Agent": "gradient-stacks/0.1"},
            timeout=httpx.Timeout(30.0, connect=10.0),
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    # -- the one seam every call goes through ------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        idempotent: bool | None = None,
        recover: Callable[[], Any] | None = None,
    ) -> Any:
        """Send a request and return its JSON body, retrying what is safe to retry.

        ``idempotent`` defaults to True for every method but POST. For a non-idempotent request, ``recover``
        (if given) is called after a failure that may have been applied; what it returns (when not None) is
        taken as the result instead of sending the request again.
        """
        if idempotent is None:
            idempotent = method != "POST"
        ambiguous = False
        for attempt in Retrying(
            retry=retry_if_exception(_retryable),
            wait=self._wait,
            stop=stop_after_attempt(self.retry.max_attempts) | stop_before_delay(self.retry.max_seconds),
            before_sleep=self._log_retry,
            sleep=self._sleep,
            reraise=True,
        ):
            with attempt:
                if ambiguous and recover is not None:
                    found = recover()
                    if found is not None:
                        log.info("%s %s: the earlier attempt was applied; using its result", method, path)
                        return found
                try:
                    return self._send(method, path, params, body)
                except GradientApiError as error:
                    if not idempotent and error.maybe_applied:
                        ambiguous = True
                        if recover is None:
                            error.retry_forbidden = True  # type: ignore[attr-defined]
                    raise
        raise AssertionError("unreachable: tenacity either returns or raises")

    def _send(self, method: str, path: str, params: dict[str, Any] | None, body: Any) -> Any:
        described = f"{method} {self._http.base_url.path.rstrip('/')}/{path.lstrip('/')}"
        try:
            response = self._http.request(method, path.lstrip("/"), params=params, json=body)
        except httpx.ConnectError as error:
            raise ConnectionFailedError(described, f"cannot connect: {error}", sent=False) from error
        except httpx.ConnectTimeout as error:
            raise ConnectionFailedError(described, "timed out connecting", sent=False) from error
        except httpx.TimeoutException as error:
            raise ConnectionFailedError(described, f"timed out waiting for the response ({error})") from error
        except httpx.TransportError as error:
            raise ConnectionFailedError(described, f"connection dropped ({type(error).__name__}: {error})") from error
        if response.is_success:
            return response.json() if response.content else None
        try:
            payload = response.json()
        except ValueError:
            payload = {"message": response.text[:500] or response.reason_phrase}
        raise error_from_response(described, response.status_code, payload, _retry_after(response))

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            return max(0.0, float(retry_after))
        return float(self._jitter(state))

    def _log_retry(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        log.warning("retrying after attempt %d failed: %s (waiting %.1f s)", state.attempt_number, error, wait)

    # -- pagination --------------------------------------------------------------------------------------

    def paginate(self, path: str, params: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Every item of a paginated list, following ``nextPage`` cursors."""
        query = {**(params or {}), "limit": PAGE_SIZE}
        while True:
            page = self.request("GET", path, params=query)
            yield from page.get("items", [])
            if not page.get("hasMore") or not page.get("nextPage"):
                return
            query["after"] = page["nextPage"]


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            moment = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, moment.timestamp() - time.time())
