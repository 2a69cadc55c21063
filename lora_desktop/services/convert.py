"""ORM rows to frozen DTOs, and the derived columns kept in step with them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from lora_desktop.models.schemas import AdapterOut, TriggerCandidate
from lora_desktop.models.tables import Adapter, AdapterTag
from lora_desktop.services.errors import ValidationFailed

M = TypeVar("M", bound=BaseModel)


def validate(model: type[M], data: object) -> M:
    """Validate ``data`` as ``model``; a bad field raises ``ValidationFailed`` naming it."""
    try:
        if isinstance(data, model):
            return model.model_validate(data.model_dump(exclude_unset=True))
        return model.model_validate(data)
    except PydanticValidationError as exc:
        raise ValidationFailed.from_pydantic(exc) from exc


def search_text(
    name: str,
    version: str | None,
    tags: Iterable[str],
    trigger_words: Iterable[str],
    *,
    extra: Iterable[str | None] = (),
) -> str:
    """The lower-case text a free-text search matches against (``extra``: base model, title)."""
    parts = [name, version or "", *tags, *trigger_words, *(e or "" for e in extra)]
    return "\n".join(p.lower() for p in parts if p)


def refresh_search_text(adapter: Adapter) -> None:
    """Recompute ``adapter.search_text`` after an edit."""
    adapter.search_text = search_text(
        adapter.name,
        adapter.version,
        (t.tag for t in adapter.tags),
        adapter.trigger_words,
        extra=(adapter.base_model, adapter.title),
    )


def set_tags(adapter: Adapter, tags: list[str]) -> None:
    """Replace an adapter's tags, keeping their order."""
    existing = {t.tag: t for t in adapter.tags}
    new_rows = []
    for position, tag in enumerate(tags):
        row = existing.get(tag) or AdapterTag(tag=tag)
        row.position = position
        new_rows.append(row)
    adapter.tags = new_rows


def adapter_out(adapter: Adapter) -> AdapterOut:
    """Return the contract's view of an ORM adapter."""
    return AdapterOut(
        id=adapter.id,
        name=adapter.name,
        version=adapter.version,
        tags=[t.tag for t in adapter.tags],
        trigger_words=list(adapter.trigger_words or []),
        file_path=adapter.file_path,
        weight=adapter.weight,
        active=adapter.active,
        ordinal=adapter.ordinal,
        archetype=adapter.archetype,
        archetype_confidence=adapter.archetype_confidence,
        notes=adapter.notes,
        sha256=adapter.sha256,
        file_size=adapter.file_size,
        file_status=adapter.file_status,
        created_at=adapter.created_at,
        updated_at=adapter.updated_at,
        deleted_at=adapter.deleted_at,
        title=adapter.title,
        description=adapter.description,
        base_model=adapter.base_model,
        network_module=adapter.network_module,
        network_dim=adapter.network_dim,
        network_alpha=adapter.network_alpha,
        resolution=adapter.resolution,
        trigger_phrase=adapter.trigger_phrase,
        trigger_candidates=[
            TriggerCandidate.model_validate(c) for c in adapter.trigger_candidates or []
        ],
        training_metadata=adapter.training_metadata,
        metadata_indexed=bool(adapter.metadata_indexed),
        header_size=adapter.header_size,
        autov2=adapter.sha256[:10] if adapter.sha256 else None,
        sha256_weights=adapter.sha256_weights,
        autov3=adapter.sha256_weights[:12] if adapter.sha256_weights else None,
        hashed_at=adapter.hashed_at,
        inspected_at=adapter.inspected_at,
        inspect_error=adapter.inspect_error,
        incomplete=bool(adapter.incomplete),
        dangerous=bool(adapter.dangerous),
        dangerous_globals=list(adapter.dangerous_globals or []),
        preview_path=adapter.preview_path,
        sidecars=dict(adapter.sidecars or {}),
        edited_fields=list(adapter.edited_fields or []),
    )
