"""One runner per delivery mode: each takes a job's prompt and params and reports an outcome."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Outcome:
    """How one attempt ended.

    ``retryable`` is True only when the runtime provably did not act on the
    request (connection refused, connect timeout) or asked to be retried.
    """

    succeeded: bool
    result: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    retryable: bool = False
    retry_after: float | None = None
