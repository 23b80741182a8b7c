"""A typed client for the Paperspace API v1 (``https://api.paperspace.com/v1``)."""

from .api import PaperspaceApi
from .errors import (
    ApiIssue,
    ConflictError,
    ConnectionFailedError,
    GradientApiError,
    InvalidRequestError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    UnauthorizedError,
)
from .http import GradientClient, RetryPolicy
from .settings import ClientSettings, MissingApiKeyError

__all__ = [
    "ApiIssue",
    "ClientSettings",
    "ConflictError",
    "ConnectionFailedError",
    "GradientApiError",
    "GradientClient",
    "InvalidRequestError",
    "MissingApiKeyError",
    "NotFoundError",
    "PaperspaceApi",
    "RateLimitedError",
    "RetryPolicy",
    "ServerError",
    "UnauthorizedError",
]
