"""Where the client's URL, key and timings come from: Pulumi config first, then the environment."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_API_URL = "https://api.paperspace.com/v1"
DEFAULT_POLL_SECONDS = 5.0

CONFIG_API_URL = "gradient:apiUrl"
CONFIG_API_KEY = "gradient:apiKey"
CONFIG_POLL_SECONDS = "gradient:pollIntervalSeconds"
ENV_API_URL = "PAPERSPACE_API_URL"
ENV_API_KEY = "PAPERSPACE_API_KEY"
ENV_POLL_SECONDS = "GRADIENT_POLL_INTERVAL_SECONDS"


class MissingApiKeyError(Exception):
    def __str__(self) -> str:
        return (
            "no Paperspace API key: set it with `pulumi config set --secret gradient:apiKey` "
            f"or in the environment variable {ENV_API_KEY}"
        )


class MalformedApiKeyError(MissingApiKeyError):
    """The key cannot be a header value (whitespace, a line break): refused before any request. The message
    says what is wrong with it, never what it is."""

    def __init__(self, problem: str) -> None:
        super().__init__()
        self.problem = problem

    def __str__(self) -> str:
        return (
            f"the Paperspace API key {self.problem}; set it again without it "
            f"(`pulumi config set --secret gradient:apiKey`, or {ENV_API_KEY})"
        )


@dataclass(frozen=True)
class ClientSettings:
    api_url: str
    api_key: str | None
    poll_seconds: float = DEFAULT_POLL_SECONDS

    def __repr__(self) -> str:  # never show the key, even in a debugger or a traceback's locals
        return f"ClientSettings(api_url={self.api_url!r}, api_key={'***' if self.api_key else None}, ...)"

    def require_key(self) -> str:
        if not self.api_key:
            raise MissingApiKeyError()
        if self.api_key != self.api_key.strip():
            raise MalformedApiKeyError("has leading or trailing whitespace (a pasted line break?)")
        if any(not char.isprintable() or char.isspace() for char in self.api_key):
            raise MalformedApiKeyError("contains a space or a control character")
        if not self.api_key.isascii():
            raise MalformedApiKeyError("contains a character that is not ASCII")
        return self.api_key

    @classmethod
    def resolve(cls, config_get: Callable[[str], Any], environ: Mapping[str, str]) -> ClientSettings:
        def pick(config_key: str, env_key: str) -> str | None:
            value = config_get(config_key)
            if value is None or value == "":
                value = environ.get(env_key) or None
            return None if value is None else str(value)

        poll = pick(CONFIG_POLL_SECONDS, ENV_POLL_SECONDS)
        return cls(
            api_url=(pick(CONFIG_API_URL, ENV_API_URL) or DEFAULT_API_URL).rstrip("/"),
            api_key=pick(CONFIG_API_KEY, ENV_API_KEY),
            poll_seconds=float(poll) if poll else DEFAULT_POLL_SECONDS,
        )
