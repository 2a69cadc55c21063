"""The contract's shapes: what goes into a service call and what comes out.

Inputs validate every field (a bad value names its field); outputs are frozen
and carry no ORM state, so they can cross threads and be printed as JSON.
"""

from __future__ import annotations

import math
import unicodedata
from datetime import datetime
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from lora_desktop.models.tables import NAME_MAX

WEIGHT_MIN = -10.0
WEIGHT_MAX = 10.0
ORDINAL_MAX = 1_000_000
TAG_MAX = 100
TAGS_PER_ADAPTER_MAX = 200
PAGE_LIMIT_DEFAULT = 50
PAGE_LIMIT_MAX = 1000
TEXT_MAX = 100_000
ORDER_FIELDS = ("compose", "name", "created_at", "updated_at", "weight", "ordinal")
ORDER_BY_CHOICES = tuple(f"{sign}{f}" for f in ORDER_FIELDS for sign in ("", "-"))
FILE_STATUSES = ("ok", "missing")
JOB_STATUSES = ("pending", "running", "succeeded", "failed", "cancelled")


def _has_control(value: str) -> bool:
    if value.isprintable():  # the common case, in C: Cc, Zl and Zp are all unprintable
        return False
    return any(unicodedata.category(ch) in ("Cc", "Zl", "Zp") for ch in value)


def _check_name(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be empty")
    if len(value) > NAME_MAX:
        raise ValueError(f"must be at most {NAME_MAX} characters (got {len(value)})")
    if ":" in value or "<" in value or ">" in value:  # (three C scans, not a set per name)
        bad = sorted({ch for ch in value if ch in ":<>"})
        raise ValueError(
            f"must not contain {' '.join(repr(c) for c in bad)}: they break the "
            "<lora:name:weight> token"
        )
    if _has_control(value):
        raise ValueError("must not contain control characters or line breaks")
    return value


def _check_weight(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    if not WEIGHT_MIN <= value <= WEIGHT_MAX:
        raise ValueError(f"must be between {WEIGHT_MIN:g} and {WEIGHT_MAX:g}")
    return value


def _check_confidence(value: float | None) -> float | None:
    if value is None:
        return None
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise ValueError("must be between 0 and 1")
    return value


def _check_short_text(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if _has_control(value):
        raise ValueError("must not contain control characters or line breaks")
    return value or None


def normalise_tag(tag: str) -> str:
    """Return a tag trimmed, with inner whitespace collapsed, lower-cased."""
    return " ".join(tag.split()).lower()


def _check_tags(values: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for raw in values:
        tag = normalise_tag(raw)
        if not tag:
            continue
        if len(tag) > TAG_MAX:
            raise ValueError(f"a tag must be at most {TAG_MAX} characters")
        if _has_control(tag) or "," in tag:
            raise ValueError(f"tag {tag[:40]!r} must not contain commas or control characters")
        seen.setdefault(tag, None)
    if len(seen) > TAGS_PER_ADAPTER_MAX:
        raise ValueError(f"at most {TAGS_PER_ADAPTER_MAX} tags")
    return list(seen)


def _check_trigger_words(values: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for raw in values:
        word = " ".join(raw.split())
        if not word:
            continue
        if len(word) > 500:
            raise ValueError("a trigger word must be at most 500 characters")
        seen.setdefault(word, None)
    return list(seen)


Name = Annotated[str, AfterValidator(_check_name)]
Weight = Annotated[float, AfterValidator(_check_weight)]
Confidence = Annotated[float | None, AfterValidator(_check_confidence)]
ShortText = Annotated[str | None, Field(max_length=200), AfterValidator(_check_short_text)]
Tags = Annotated[list[str], AfterValidator(_check_tags)]
TriggerWords = Annotated[list[str], AfterValidator(_check_trigger_words)]
Ordinal = Annotated[int | None, Field(ge=0, le=ORDINAL_MAX)]
Notes = Annotated[str, Field(max_length=TEXT_MAX)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class AdapterCreate(_Input):
    """Register one file. ``name`` defaults to the file's stem."""

    file_path: str = Field(min_length=1)
    name: Name | None = None
    version: ShortText = None
    tags: Tags = Field(default_factory=list)
    trigger_words: TriggerWords = Field(default_factory=list)
    weight: Weight = 1.0
    active: bool = False
    ordinal: Ordinal = None
    archetype: ShortText = None
    archetype_confidence: Confidence = None
    notes: Notes = ""


class AdapterPatch(_Input):
    """A partial update: only the fields given are changed (``None`` clears a nullable one).

    A field the artist changes here is marked edited: sidecars and headers no longer
    fill it (until the artist asks to re-import).
    """

    name: Name | None = None
    version: ShortText = None
    tags: Tags | None = None
    trigger_words: TriggerWords | None = None
    weight: Weight | None = None
    active: bool | None = None
    ordinal: Ordinal = None
    archetype: ShortText = None
    archetype_confidence: Confidence = None
    notes: Notes | None = None
    title: Annotated[str | None, Field(max_length=500)] = None
    description: Annotated[str | None, Field(max_length=TEXT_MAX)] = None
    base_model: ShortText = None
    preview_path: str | None = None


class AdapterQuery(_Input):
    """Filters, paging and order of a listing."""

    active: bool | None = None
    tag: str | None = None
    search: str | None = Field(default=None, max_length=500)
    file_status: Literal["ok", "missing", "unavailable", "changed"] | None = None
    base_model: str | None = Field(default=None, max_length=100)
    include_deleted: bool = False
    limit: int = Field(default=PAGE_LIMIT_DEFAULT, gt=0, le=PAGE_LIMIT_MAX)
    offset: int = Field(default=0, ge=0)
    order_by: Literal[ORDER_BY_CHOICES] = "compose"  # type: ignore[valid-type]


class _Output(BaseModel):
    model_config = ConfigDict(frozen=True)


class TriggerCandidate(_Output):
    """A suggested trigger word (never applied on its own) and where it came from."""

    word: str
    source: str
    count: int | None = None


class AdapterOut(_Output):
    """An adapter as the contract shows it (file inspection fields: contract.md)."""

    id: str
    name: str
    version: str | None
    tags: list[str]
    trigger_words: list[str]
    file_path: str
    weight: float
    active: bool
    ordinal: int | None
    archetype: str | None
    archetype_confidence: float | None
    notes: str
    sha256: str | None
    file_size: int | None
    file_status: str
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None
    title: str | None = None
    description: str | None = None
    base_model: str | None = None
    network_module: str | None = None
    network_dim: int | None = None
    network_alpha: float | None = None
    resolution: str | None = None
    trigger_phrase: str | None = None
    trigger_candidates: list[TriggerCandidate] = Field(default_factory=list)
    training_metadata: dict[str, str] | None = None
    metadata_indexed: bool = False
    header_size: int | None = None
    autov2: str | None = None
    sha256_weights: str | None = None
    autov3: str | None = None
    hashed_at: datetime | None = None
    inspected_at: datetime | None = None
    inspect_error: str | None = None
    incomplete: bool = False
    dangerous: bool = False
    dangerous_globals: list[str] = Field(default_factory=list)
    preview_path: str | None = None
    sidecars: dict[str, Any] = Field(default_factory=dict)
    edited_fields: list[str] = Field(default_factory=list)


class DuplicateGroup(_Output):
    """Adapters sharing content: ``same_file`` (same SHA-256) or ``same_weights`` (same
    AutoV3, different SHA-256: the same weights with different metadata)."""

    kind: Literal["same_file", "same_weights"]
    hash: str
    adapter_ids: list[str]
    names: list[str]


class HashReport(_Output):
    """What a hashing run did."""

    hashed: int
    incomplete: int
    requeued: int
    failed: list[str]
    bytes: int
    stopped: bool


class RescanReport(_Output):
    """What a rescan found: files re-inspected, gone missing, unchanged."""

    reinspected: list[str]
    missing: list[str]
    restored: list[str]
    unchanged: int


class AdapterPage(_Output):
    """One page of a listing, with the total that matched."""

    items: list[AdapterOut]
    total: int
    limit: int
    offset: int


class AdapterRow(NamedTuple):
    """The few columns the window's list needs, loaded for every row at once.

    A named tuple, not a Pydantic model: the window builds tens of thousands at
    start-up from trusted database rows, where validation would only cost time.
    """

    id: str
    name: str
    version: str | None
    tags: tuple[str, ...]
    trigger_words: tuple[str, ...]
    weight: float
    active: bool
    ordinal: int | None
    file_status: str
    search_text: str
    base_model: str | None = None
    sha256: str | None = None
    preview_path: str | None = None
    dangerous: bool = False
    incomplete: bool = False
    problem: str | None = None
    """``inspect_error``: what is wrong with the file or its sidecars, if anything."""


class RegisterEntry(_Output):
    """What happened to one path of a batch registration."""

    path: str
    outcome: Literal["added", "already_registered", "skipped"]
    reason: str | None = None
    adapter_id: str | None = None
    problem: str | None = None
    """For an added file: what inspecting it found wrong (it was registered anyway)."""


class RegisterReport(_Output):
    """The per-path report of a batch registration."""

    entries: list[RegisterEntry]

    def count(self, outcome: str) -> int:
        """Return how many entries have this outcome."""
        return sum(1 for e in self.entries if e.outcome == outcome)

    @property
    def added(self) -> int:
        """How many files were registered."""
        return self.count("added")

    @property
    def already_registered(self) -> int:
        """How many were registered before."""
        return self.count("already_registered")

    @property
    def skipped(self) -> int:
        """How many could not be registered."""
        return self.count("skipped")


DEFAULT_TEMPLATE = "<lora:{name}:{weight}>"


class DeliveryRequest(_Input):
    """Deliver a prompt: ``http`` POSTs JSON to ``url``; ``cli`` runs ``argv``."""

    mode: Literal["http", "cli"]
    prompt: str | None = Field(default=None, max_length=TEXT_MAX)
    url: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    argv: list[str] = Field(default_factory=list)
    cwd: str | None = None
    timeout: float = Field(default=30.0, gt=0, le=3600)
    max_attempts: int = Field(default=3, ge=1, le=10)


class ComposeRequest(_Input):
    """Compose the prompt from the active adapters."""

    prefix: str = Field(default="", max_length=TEXT_MAX)
    suffix: str = Field(default="", max_length=TEXT_MAX)
    template: str = Field(default=DEFAULT_TEMPLATE, max_length=500)
    include_trigger_words: bool = True
    delivery: DeliveryRequest | None = None


class DeliveryRef(_Output):
    """The job a compose call enqueued."""

    id: str
    status: str


class ComposeResult(_Output):
    """The composed prompt, its tokens, warnings, and the delivery if one was asked for."""

    prompt: str
    tokens: list[str]
    warnings: list[str]
    delivery: DeliveryRef | None = None


class DeliveryJobOut(_Output):
    """A delivery job as the contract shows it."""

    id: str
    prompt: str
    mode: str
    params: dict[str, Any]
    status: str
    result: dict[str, Any] | None
    error: str | None
    attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class Health(_Output):
    """Whether the library answers, and what it holds."""

    status: Literal["ok"]
    version: str
    database: str
    schema_revision: str | None
    adapters: int
    active: int
    missing: int
    deleted: int
    pending_jobs: int


class LibraryFolderOut(_Output):
    """A watched library folder (issue 5)."""

    id: str
    path: str
    auto_import: bool
    created_at: datetime
    exists: bool = True


class ReconcileReport(_Output):
    """What a reconcile found, by adapter id (issue 5).

    ``moved``: path followed a move; ``relinked``: a missing file found again
    elsewhere (by size and quick key); ``changed``: size or mtime changed (re-inspected,
    hash pending); ``added``: new files imported from auto-import folders.
    """

    missing: list[str] = []
    unavailable: list[str] = []
    restored: list[str] = []
    changed: list[str] = []
    moved: list[str] = []
    relinked: list[str] = []
    added: list[str] = []
    unchanged: int = 0
    waiting: list[str] = []
    """Paths of new files whose size has not settled yet (imported by a later pass)."""
