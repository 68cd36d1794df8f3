"""rescale_client: a typed client of the Rescale REST API (v2 and v3), proven against rescale-mockkit's fake.

    from rescale_client import RescaleClient

    with RescaleClient() as client:          # RESCALE_API_BASE_URL / RESCALE_API_KEY, or the apiconfig file
        me = client.users.get_current_user()
        for job in client.jobs.iter_jobs(state="completed"):
            print(job["id"], job["name"])

`client.<tag>` holds the operations generated from `openapi/rescale.yaml` (`meta`, `users`, `catalog`, `files`,
`jobs`, `runs`, `clusters`); the client adds waiters, resumable transfers and log following.
"""
from __future__ import annotations

from .client import RescaleClient
from .config import Settings, resolve
from .errors import (
    APIError,
    BadRequest,
    ChecksumMismatch,
    ConfigError,
    Conflict,
    Forbidden,
    NotFound,
    RescaleError,
    ServerError,
    ServiceUnavailable,
    TooManyRequests,
    TransferError,
    TransportError,
    Unauthorized,
    WaiterError,
    WaiterTimeout,
    WaitFailed,
)
from .pagination import Paginator
from .retry import RetryPolicy
from .waiters import RunProgress, WaitResult

__version__ = "0.1.0"

__all__ = [
    "APIError",
    "BadRequest",
    "ChecksumMismatch",
    "ConfigError",
    "Conflict",
    "Forbidden",
    "NotFound",
    "Paginator",
    "RescaleClient",
    "RescaleError",
    "RetryPolicy",
    "RunProgress",
    "ServerError",
    "ServiceUnavailable",
    "Settings",
    "TooManyRequests",
    "TransferError",
    "TransportError",
    "Unauthorized",
    "WaitFailed",
    "WaitResult",
    "WaiterError",
    "WaiterTimeout",
    "resolve",
]
