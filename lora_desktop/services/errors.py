"""The one family of domain errors, each able to render itself as problem details (RFC 9457)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import ValidationError as PydanticValidationError


@dataclass(frozen=True)
class InvalidParam:
    """One field that failed validation, and why."""

    name: str
    reason: str


class DomainError(Exception):
    """Base of every error an artist may see; never carries a traceback to them."""

    slug: ClassVar[str] = "error"
    title: ClassVar[str] = "Error"

    def __init__(self, detail: str, invalid_params: list[InvalidParam] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.invalid_params = list(invalid_params or [])

    @property
    def type(self) -> str:
        """The problem type URI."""
        return f"urn:lora-desktop:problem:{self.slug}"

    def to_problem(self) -> dict[str, Any]:
        """Return the problem-details object: type, title, detail and invalid_params."""
        problem: dict[str, Any] = {"type": self.type, "title": self.title, "detail": self.detail}
        if self.invalid_params:
            problem["invalid_params"] = [
                {"name": p.name, "reason": p.reason} for p in self.invalid_params
            ]
        return problem

    def field_errors(self) -> dict[str, str]:
        """Return the reason per field name (first reason wins)."""
        out: dict[str, str] = {}
        for param in self.invalid_params:
            out.setdefault(param.name, param.reason)
        return out


class NotFound(DomainError):
    """No live record with that id or name."""

    slug = "not-found"
    title = "Not found"


class ValidationFailed(DomainError):
    """An input value is wrong; ``invalid_params`` names each field."""

    slug = "validation"
    title = "Invalid input"

    @classmethod
    def field(cls, name: str, reason: str) -> ValidationFailed:
        """Build the error for one field."""
        return cls(f"{name}: {reason}", [InvalidParam(name, reason)])

    @classmethod
    def from_pydantic(cls, error: PydanticValidationError) -> ValidationFailed:
        """Translate a Pydantic error into field-level reasons."""
        params: list[InvalidParam] = []
        for item in error.errors(include_url=False):
            loc = ".".join(str(part) for part in item["loc"]) or "input"
            message = str(item["msg"])
            # Pydantic prefixes our own validators' messages; keep only ours.
            message = message.removeprefix("Value error, ")
            params.append(InvalidParam(loc, message))
        detail = "; ".join(f"{p.name}: {p.reason}" for p in params)
        return cls(detail, params)


class Conflict(DomainError):
    """The change clashes with another record (a name or file already used)."""

    slug = "conflict"
    title = "Conflict"


class FileProblem(DomainError):
    """A file on disk cannot be used: missing, a folder, unreadable, wrong kind."""

    slug = "file-problem"
    title = "File problem"


class LibraryUnavailable(DomainError):
    """The library itself cannot be opened (bad location, newer schema, foreign file)."""

    slug = "library-unavailable"
    title = "Library unavailable"

    def __init__(self, title: str, detail: str) -> None:
        super().__init__(detail)
        self._title = title

    def to_problem(self) -> dict[str, Any]:
        """Return the problem details, titled with the specific cause."""
        problem = super().to_problem()
        problem["title"] = self._title
        return problem
