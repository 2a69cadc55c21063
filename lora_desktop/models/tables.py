"""The ORM tables: adapters, their tags, and delivery jobs (SQLAlchemy 2.0 typed mapping)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lora_desktop.models.base import Base, UTCDateTime, new_id, utcnow

NAME_MAX = 200
LIVE = "deleted_at IS NULL"
"""Longest adapter name accepted (a file stem longer than this is unusual and unreadable)."""


class Adapter(Base):
    """One registered LoRA file: its metadata, never its bytes."""

    __tablename__ = "adapters"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    version: Mapped[str | None] = mapped_column(String(200))
    file_path: Mapped[str] = mapped_column(Text)
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    ordinal: Mapped[int | None] = mapped_column(Integer)
    archetype: Mapped[str | None] = mapped_column(String(200))
    archetype_confidence: Mapped[float | None] = mapped_column(Float)
    trigger_words: Mapped[list[str]] = mapped_column(JSON, default=list)
    notes: Mapped[str] = mapped_column(Text, default="")
    sha256: Mapped[str | None] = mapped_column(String(64))
    file_size: Mapped[int | None] = mapped_column(BigInteger)
    file_mtime: Mapped[float | None] = mapped_column(Float)
    file_status: Mapped[str] = mapped_column(String(16), default="ok")
    # Lower-case name, version, tags and trigger words: one LIKE scans one column.
    search_text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    # What the file says about itself (issue 4; revision 0002).
    title: Mapped[str | None] = mapped_column(String(500))
    base_model: Mapped[str | None] = mapped_column(String(100))
    network_module: Mapped[str | None] = mapped_column(String(200))
    network_dim: Mapped[int | None] = mapped_column(Integer)
    network_alpha: Mapped[float | None] = mapped_column(Float)
    resolution: Mapped[str | None] = mapped_column(String(50))
    trigger_phrase: Mapped[str | None] = mapped_column(String(500))
    metadata_indexed: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    header_size: Mapped[int | None] = mapped_column(BigInteger)
    sha256_weights: Mapped[str | None] = mapped_column(String(64))
    hash_size: Mapped[int | None] = mapped_column(BigInteger)
    hash_mtime: Mapped[float | None] = mapped_column(Float)
    file_inode: Mapped[int | None] = mapped_column(BigInteger)
    hashed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    inspected_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    inspect_error: Mapped[str | None] = mapped_column(Text)
    incomplete: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    dangerous: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    dangerous_globals: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    preview_path: Mapped[str | None] = mapped_column(Text)
    # Fields the artist changed: a sidecar or header never overwrites them (unless re-imported).
    edited_fields: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    # Library folders (issue 5; revision 0004): SHA-256 of the first and last MiB, so a
    # moved file is found again by size and this key before its full hash confirms it.
    quick_key: Mapped[str | None] = mapped_column(String(64))

    tags: Mapped[list[AdapterTag]] = relationship(
        back_populates="adapter",
        cascade="all, delete-orphan",
        order_by="AdapterTag.position",
        lazy="selectin",
    )
    details: Mapped[AdapterDetails | None] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, lazy="select"
    )
    """What the file says at length, in its own table (see ``AdapterDetails``)."""

    __table_args__ = (
        # Unique among live rows only: a soft-deleted adapter does not hold its name.
        # Revision 0001 creates them with the same condition on PostgreSQL too
        # (postgresql_where); named here, that option would import SQLAlchemy's
        # PostgreSQL dialect in every process: ~25 ms of the window's first paint.
        Index("uq_adapters_live_name", "name", unique=True, sqlite_where=text(LIVE)),
        Index("uq_adapters_live_file_path", "file_path", unique=True, sqlite_where=text(LIVE)),
        # Matches services.adapters.compose_order(): pages in that order need no sort.
        Index(
            "ix_adapters_compose",
            "deleted_at",
            text("(ordinal IS NULL)"),
            "ordinal",
            "name",
            "id",
        ),
        # The compose stack (active, live): few rows, sorted after the lookup. Without
        # the order columns, so a drag that renumbers thousands of ordinals updates
        # one index, not two (the save got ~30% faster).
        Index("ix_adapters_active", "active", "deleted_at"),
        # Covers the total of a text search: the count reads this index, not the rows.
        Index("ix_adapters_search", "deleted_at", "search_text"),
        Index("ix_adapters_sha256", "sha256"),
        Index("ix_adapters_sha256_weights", "sha256_weights"),
        Index("ix_adapters_base_model", "base_model"),
        Index("ix_adapters_file_size", "file_size"),
    )

    def _details(self) -> AdapterDetails:
        if self.details is None:
            self.details = AdapterDetails(trigger_candidates=[], sidecars={})
        return self.details

    @property
    def training_metadata(self) -> dict[str, str] | None:
        """kohya's ``__metadata__`` (string to string), or None when the file has none."""
        return None if self.details is None else self.details.training_metadata

    @training_metadata.setter
    def training_metadata(self, value: dict[str, str] | None) -> None:
        if value is not None or self.details is not None:
            details = self._details()
            if details.training_metadata != value:
                details.training_metadata = value

    @property
    def trigger_candidates(self) -> list[dict[str, Any]]:
        """Ranked trigger-word suggestions (``Candidate.as_json`` dicts)."""
        return [] if self.details is None else self.details.trigger_candidates

    @trigger_candidates.setter
    def trigger_candidates(self, value: list[dict[str, Any]]) -> None:
        if value or self.details is not None:
            details = self._details()
            if details.trigger_candidates != value:
                details.trigger_candidates = value

    @property
    def sidecars(self) -> dict[str, Any]:
        """What the sidecar files said and their sizes and times (``sidecar_summary``)."""
        return {} if self.details is None else self.details.sidecars

    @sidecars.setter
    def sidecars(self, value: dict[str, Any]) -> None:
        if value or self.details is not None:
            details = self._details()
            if details.sidecars != value:
                details.sidecars = value

    @property
    def description(self) -> str | None:
        """The model's description from a sidecar (Civitai, A1111), as plain text."""
        return None if self.details is None else self.details.description

    @description.setter
    def description(self, value: str | None) -> None:
        if value is not None or self.details is not None:
            details = self._details()
            if details.description != value:
                details.description = value


class AdapterDetails(Base):
    """What a file says at length, kept out of ``adapters``: the header's training
    metadata, the trigger-word suggestions, the sidecar summary, the description.

    kohya's ``__metadata__`` alone is kilobytes per file (tens of kilobytes with big tag
    frequency tables), the rest about a kilobyte. Inline, every ``adapters`` row was
    that wide, and a drag that renumbers 5,000 ordinals rewrote all of it; here only
    inspection and the hash pass write it.
    """

    __tablename__ = "adapter_details"

    adapter_id: Mapped[str] = mapped_column(
        ForeignKey("adapters.id", ondelete="CASCADE"), primary_key=True
    )
    training_metadata: Mapped[dict[str, str] | None] = mapped_column(JSON)
    trigger_candidates: Mapped[list[dict[str, Any]]] = mapped_column(
        JSON, default=list, server_default="[]"
    )
    sidecars: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default="{}")
    description: Mapped[str | None] = mapped_column(Text)


class AdapterTag(Base):
    """One normalised tag of an adapter; a table so tag filters use an index."""

    __tablename__ = "adapter_tags"

    adapter_id: Mapped[str] = mapped_column(
        ForeignKey("adapters.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(100), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)

    adapter: Mapped[Adapter] = relationship(back_populates="tags")

    __table_args__ = (Index("ix_adapter_tags_tag", "tag", "adapter_id"),)


class DeliveryJob(Base):
    """One delivery of a prompt to a runtime, from pending to its end."""

    __tablename__ = "delivery_jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    prompt: Mapped[str] = mapped_column(Text)
    mode: Mapped[str] = mapped_column(String(16))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Deliveries (issue 6; revision 0003). The job keeps its own copy of the target's
    # settings in ``params``: editing or deleting the target never changes a queued job.
    target_id: Mapped[str | None] = mapped_column(
        ForeignKey("delivery_targets.id", ondelete="SET NULL"), index=True
    )
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")


class DeliveryTarget(Base):
    """A named delivery configuration: a mode and its settings (secrets included)."""

    __tablename__ = "delivery_targets"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(NAME_MAX), unique=True)
    mode: Mapped[str] = mapped_column(String(16))
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LibraryFolder(Base):
    """A folder the app watches; new files in it are imported when ``auto_import`` is on."""

    __tablename__ = "library_folders"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    path: Mapped[str] = mapped_column(Text, unique=True)
    auto_import: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
