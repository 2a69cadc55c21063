"""Adapter records: get, list, edit, soft delete and restore, activate, reorder."""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Sequence
from operator import itemgetter

from sqlalchemy import ColumnElement, Select, Text, exists, func, select, true, type_coerce
from sqlalchemy.orm import Session, selectinload

from lora_desktop.models.base import utcnow
from lora_desktop.models.schemas import (
    AdapterOut,
    AdapterPage,
    AdapterPatch,
    AdapterQuery,
    AdapterRow,
    normalise_tag,
)
from lora_desktop.models.tables import Adapter, AdapterTag
from lora_desktop.services.convert import adapter_out, refresh_search_text, set_tags, validate
from lora_desktop.services.errors import Conflict, InvalidParam, NotFound, ValidationFailed
from lora_desktop.services.fetching import fetch_all
from lora_desktop.services.library import ChangeSet, Library


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def load(session: Session, ref: str, *, include_deleted: bool = False) -> Adapter:
    """Return the adapter with id ``ref``, else the live adapter named ``ref``.

    Raises:
        NotFound: no such adapter.
    """
    adapter = session.get(Adapter, ref) if _is_uuid(ref) else None
    if adapter is not None and adapter.deleted_at is not None and not include_deleted:
        adapter = None
    if adapter is None:
        adapter = session.scalar(
            select(Adapter).where(Adapter.name == ref, Adapter.deleted_at.is_(None))
        )
    if adapter is None:
        raise NotFound(f"no adapter with id or name {ref!r}")
    return adapter


def get(lib: Library, ref: str, *, include_deleted: bool = False) -> AdapterOut:
    """Return one adapter by id or name.

    Raises:
        NotFound: no such adapter (a soft-deleted one only with ``include_deleted``).
    """
    with lib.db.read() as session:
        return adapter_out(load(session, ref, include_deleted=include_deleted))


def compose_order() -> tuple[object, ...]:
    """The compose order: ordinal ascending (none last), then name, then id.

    The index ``ix_adapters_compose`` has exactly these expressions, so a page
    in this order reads only its own rows.
    """
    return (Adapter.ordinal.is_(None), Adapter.ordinal, Adapter.name, Adapter.id)


def _ordered(stmt: Select[Adapter], order_by: str) -> Select[Adapter]:
    if order_by == "compose":
        return stmt.order_by(*compose_order())  # type: ignore[arg-type]
    descending = order_by.startswith("-")
    column = getattr(Adapter, order_by.lstrip("-"))
    key = column.desc() if descending else column.asc()
    if order_by.lstrip("-") == "ordinal":
        return stmt.order_by(Adapter.ordinal.is_(None), key, Adapter.name, Adapter.id)
    return stmt.order_by(key, Adapter.id)


def _like_pattern(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def list_adapters(
    lib: Library, query: AdapterQuery | dict[str, object] | None = None
) -> AdapterPage:
    """Return one page of adapters matching the filters, with the total that matched.

    Raises:
        ValidationFailed: a bad limit, offset, order or filter.
    """
    q = validate(AdapterQuery, query or {})
    # The page and the total filter alike but are planned apart: the page walks the
    # compose-order index and stops after `limit` rows; the total is best found
    # from the tag index (IN) or by one plain scan (search text).
    page_filters: list[ColumnElement[bool]] = []
    if not q.include_deleted:
        page_filters.append(Adapter.deleted_at.is_(None))
    if q.active is not None:
        page_filters.append(Adapter.active.is_(q.active))
    if q.file_status is not None:
        page_filters.append(Adapter.file_status == q.file_status)
    if q.base_model is not None and q.base_model.strip():
        page_filters.append(func.lower(Adapter.base_model) == q.base_model.strip().lower())
    if q.search and q.search.strip():
        for word in q.search.split():
            page_filters.append(Adapter.search_text.like(_like_pattern(word), escape="\\"))
    count_filters: list[ColumnElement[bool]] = list(page_filters)
    tag_only = bool(q.tag) and len(page_filters) == (0 if q.include_deleted else 1)
    if q.tag:
        tag = normalise_tag(q.tag)
        page_filters.append(
            exists().where(AdapterTag.adapter_id == Adapter.id, AdapterTag.tag == tag)
        )
        count_filters.append(
            Adapter.id.in_(select(AdapterTag.adapter_id).where(AdapterTag.tag == tag))
        )
    with lib.db.read() as session:
        if tag_only:
            total = _count_tag(session, tag, include_deleted=q.include_deleted)
        else:
            total = (
                session.scalar(select(func.count()).select_from(Adapter).where(*count_filters)) or 0
            )
        page = _ordered(select(Adapter).where(*page_filters), q.order_by)
        page = page.options(selectinload(Adapter.details))  # one query for the page's details
        items = [adapter_out(a) for a in session.scalars(page.limit(q.limit).offset(q.offset))]
    return AdapterPage(items=items, total=total or 0, limit=q.limit, offset=q.offset)


def _count_tag(session: Session, tag: str, *, include_deleted: bool) -> int:
    """Count the adapters with ``tag`` from the tag index alone.

    The tag rows with that tag, less those of soft-deleted adapters (usually
    few): two index lookups instead of a probe per tagged adapter.
    """
    tagged = session.scalar(select(func.count()).where(AdapterTag.tag == tag)) or 0
    if include_deleted:
        return tagged
    deleted = session.scalar(
        select(func.count()).where(
            AdapterTag.tag == tag,
            AdapterTag.adapter_id.in_(select(Adapter.id).where(Adapter.deleted_at.is_not(None))),
        )
    )
    return tagged - (deleted or 0)


def list_rows(lib: Library) -> list[AdapterRow]:
    """Return every live adapter's list columns in compose order, without ORM objects.

    The window loads these at start, so this path is lean: Core execution (no ORM
    loading), positional unpacking, and JSON decoded only for non-empty lists.
    """
    columns = (
        Adapter.id,
        Adapter.name,
        Adapter.version,
        type_coerce(Adapter.trigger_words, Text),
        Adapter.weight,
        Adapter.active,
        Adapter.ordinal,
        Adapter.file_status,
        Adapter.search_text,
        Adapter.base_model,
        Adapter.sha256,
        Adapter.preview_path,
        Adapter.dangerous,
        Adapter.incomplete,
        Adapter.inspect_error,
    )
    with lib.db.read() as session:
        connection = session.connection()
        tags: dict[str, list[str]] = defaultdict(list)
        tag_rows = fetch_all(
            connection.execute(select(AdapterTag.adapter_id, AdapterTag.tag, AdapterTag.position))
        )
        # Rows come mostly in position order already; sorting here is cheaper than
        # an ORDER BY the primary-key index can't serve.
        for adapter_id, tag, _position in sorted(tag_rows, key=itemgetter(2)):
            tags[adapter_id].append(tag)
        result = fetch_all(
            connection.execute(
                select(*columns).where(Adapter.deleted_at.is_(None)).order_by(*compose_order())  # type: ignore[arg-type]
            )
        )
        no_tags: tuple[str, ...] = ()
        return [
            AdapterRow(
                id,
                name,
                version,
                tuple(tags[id]) if id in tags else no_tags,
                tuple(json.loads(words)) if words and words != "[]" else no_tags,
                weight,
                bool(active),
                ordinal,
                status,
                text,
                base_model,
                sha256,
                preview,
                bool(dangerous),
                bool(incomplete),
                problem,
            )
            for (
                id,
                name,
                version,
                words,
                weight,
                active,
                ordinal,
                status,
                text,
                base_model,
                sha256,
                preview,
                dangerous,
                incomplete,
                problem,
            ) in result
        ]


def _check_name_free(session: Session, name: str, own_id: str | None) -> None:
    clash = session.scalar(
        select(Adapter.id).where(
            Adapter.name == name, Adapter.deleted_at.is_(None), Adapter.id != (own_id or "")
        )
    )
    if clash is not None:
        raise Conflict(
            f"the name {name!r} is already used by another adapter; choose another name",
            [InvalidParam("name", "already used by another adapter")],
        )


EDITABLE_FROM_FILES = frozenset(
    {"title", "base_model", "trigger_words", "weight", "notes", "description", "tags"}
    | {"preview_path"}
)
"""Fields sidecars or headers fill; once the artist changes one, it is marked edited."""


def _file_fields(adapter: Adapter) -> dict[str, object]:
    values = {name: getattr(adapter, name) for name in EDITABLE_FROM_FILES if name != "tags"}
    values["tags"] = [t.tag for t in adapter.tags]
    values["trigger_words"] = list(adapter.trigger_words or [])
    return values


def update_adapter(
    lib: Library,
    ref: str,
    patch: AdapterPatch | dict[str, object],
    *,
    confirm_dangerous: bool = False,
) -> AdapterOut:
    """Change only the fields given in ``patch``.

    A field a sidecar or header could fill (title, base model, trigger words, weight,
    notes, description, tags, preview) that this patch changes is marked edited, so
    later imports leave it alone. Activating a dangerous adapter needs
    ``confirm_dangerous``, as in ``set_active``.

    Raises:
        NotFound: no such adapter.
        ValidationFailed: a bad value, named by field.
        Conflict: the new name is taken.
    """
    p = validate(AdapterPatch, patch)
    fields = p.model_fields_set
    non_nullable = {"name", "weight", "active", "tags", "trigger_words", "notes"}
    for name in fields & non_nullable:
        if getattr(p, name) is None:
            raise ValidationFailed.field(name, "must not be empty")
    with lib.db.write() as session:
        adapter = load(session, ref)
        if "active" in fields and p.active and not adapter.active:
            _check_not_dangerous(adapter, confirm_dangerous)
        before = _file_fields(adapter)
        if "name" in fields and p.name != adapter.name:
            assert p.name is not None
            _check_name_free(session, p.name, adapter.id)
            adapter.name = p.name
        for name in ("version", "weight", "active", "ordinal", "archetype", "notes"):
            if name in fields:
                setattr(adapter, name, getattr(p, name))
        for name in ("title", "description", "base_model", "preview_path"):
            if name in fields:
                value = getattr(p, name)
                setattr(adapter, name, value.strip() or None if isinstance(value, str) else None)

        if "archetype_confidence" in fields:
            adapter.archetype_confidence = p.archetype_confidence
        if "trigger_words" in fields:
            adapter.trigger_words = list(p.trigger_words or [])
        if "tags" in fields:
            set_tags(adapter, list(p.tags or []))
        after = _file_fields(adapter)
        changed = {name for name in fields & EDITABLE_FROM_FILES if before[name] != after[name]}
        if changed - set(adapter.edited_fields or []):
            adapter.edited_fields = sorted(set(adapter.edited_fields or []) | changed)
        refresh_search_text(adapter)
        adapter.updated_at = utcnow()
        session.flush()
        out = adapter_out(adapter)
    lib.publish(ChangeSet(updated=(out.id,), reordered="ordinal" in fields or "name" in fields))
    return out


def delete_adapter(lib: Library, ref: str) -> AdapterOut:
    """Soft-delete: the row stays, hidden, and can be restored.

    Raises:
        NotFound: no such live adapter.
    """
    with lib.db.write() as session:
        adapter = load(session, ref)
        adapter.deleted_at = utcnow()
        adapter.updated_at = adapter.deleted_at
        session.flush()
        out = adapter_out(adapter)
    lib.publish(ChangeSet(removed=(out.id,)))
    return out


def restore_adapter(lib: Library, adapter_id: str) -> AdapterOut:
    """Bring back a soft-deleted adapter (restoring a live one changes nothing).

    Raises:
        NotFound: no adapter with that id.
        Conflict: a live adapter took its name or file meanwhile.
    """
    with lib.db.write() as session:
        adapter = session.get(Adapter, adapter_id) if _is_uuid(adapter_id) else None
        if adapter is None:
            raise NotFound(f"no adapter with id {adapter_id!r}")
        if adapter.deleted_at is None:
            return adapter_out(adapter)
        _check_name_free(session, adapter.name, adapter.id)
        path_clash = session.scalar(
            select(Adapter.name).where(
                Adapter.file_path == adapter.file_path,
                Adapter.deleted_at.is_(None),
                Adapter.id != adapter.id,
            )
        )
        if path_clash is not None:
            raise Conflict(
                f"its file {adapter.file_path} is registered again as {path_clash!r}; "
                "delete that one first"
            )
        adapter.deleted_at = None
        adapter.updated_at = utcnow()
        session.flush()
        out = adapter_out(adapter)
    lib.publish(ChangeSet(added=(out.id,)))
    return out


def _check_not_dangerous(adapter: Adapter, confirmed: bool) -> None:
    if adapter.dangerous and not confirmed:
        offending = ", ".join((adapter.dangerous_globals or [])[:5]) or "unknown code"
        raise Conflict(
            f"{adapter.name} is a pickle file that would run code when loaded "
            f"({offending}); confirm to activate it anyway",
            [InvalidParam("confirm_dangerous", "this adapter is dangerous; confirm first")],
        )


def set_active(
    lib: Library,
    ref: str,
    active: bool,
    *,
    ordinal: int | None = None,
    confirm_dangerous: bool = False,
) -> AdapterOut:
    """Activate or deactivate (idempotent); ``ordinal`` given also sets the position.

    Activating an adapter marked dangerous (a pickle that would import code) needs
    ``confirm_dangerous=True``: the artist confirmed it.

    Raises:
        NotFound: no such adapter.
        ValidationFailed: a bad ordinal.
        Conflict: a dangerous adapter without ``confirm_dangerous`` (field ``confirm_dangerous``).
    """
    patch: dict[str, object] = {"active": active}
    if ordinal is not None:
        patch["ordinal"] = ordinal
    p = validate(AdapterPatch, patch)
    with lib.db.write() as session:
        adapter = load(session, ref)
        if active and not adapter.active:
            _check_not_dangerous(adapter, confirm_dangerous)
        changed = adapter.active != active or (ordinal is not None and adapter.ordinal != ordinal)
        adapter.active = active
        if ordinal is not None:
            adapter.ordinal = p.ordinal
        if changed:
            adapter.updated_at = utcnow()
        session.flush()
        out = adapter_out(adapter)
    if changed:
        lib.publish(ChangeSet(updated=(out.id,), reordered=ordinal is not None))
    return out


def activate(
    lib: Library, ref: str, *, ordinal: int | None = None, confirm_dangerous: bool = False
) -> AdapterOut:
    """Mark an adapter active; idempotent. Without ``ordinal`` its position is unchanged.

    Raises:
        Conflict: the adapter is dangerous and ``confirm_dangerous`` is False.
    """
    return set_active(lib, ref, True, ordinal=ordinal, confirm_dangerous=confirm_dangerous)


def deactivate(lib: Library, ref: str) -> AdapterOut:
    """Mark an adapter inactive; idempotent."""
    return set_active(lib, ref, False)


def reorder(lib: Library, refs: Sequence[str]) -> list[AdapterOut]:
    """Put the given adapters first, in this order: they get ordinals 0..n-1.

    Every other adapter that had an ordinal follows them, in its previous order;
    adapters without one keep none. Returns the listed adapters in their new order.

    Raises:
        NotFound: an id or name matches no live adapter.
        ValidationFailed: the list is empty or names an adapter twice.
    """
    if not refs:
        raise ValidationFailed.field("ids", "give at least one adapter")
    with lib.db.write() as session:
        listed = [load(session, ref) for ref in refs]
        ids = [a.id for a in listed]
        if len(set(ids)) != len(ids):
            raise ValidationFailed.field("ids", "an adapter is listed twice")
        others = session.scalars(
            select(Adapter)
            .where(
                Adapter.deleted_at.is_(None),
                Adapter.ordinal.is_not(None),
                Adapter.id.not_in(ids),
            )
            .order_by(*compose_order())  # type: ignore[arg-type]
        ).all()
        now = utcnow()
        for position, adapter in enumerate([*listed, *others]):
            if adapter.ordinal != position:
                adapter.ordinal = position
                adapter.updated_at = now
        session.flush()
        out = [adapter_out(a) for a in listed]
    lib.publish(ChangeSet(updated=tuple(ids), reordered=True))
    return out


def counts(lib: Library) -> dict[str, int]:
    """Return the live, active, missing and deleted adapter counts."""
    live = Adapter.deleted_at.is_(None)
    with lib.db.read() as session:
        row = session.execute(
            select(
                func.count().filter(live),
                func.count().filter(live, Adapter.active == true()),
                func.count().filter(live, Adapter.file_status == "missing"),
                func.count().filter(Adapter.deleted_at.is_not(None)),
            )
        ).one()
    return {"adapters": row[0], "active": row[1], "missing": row[2], "deleted": row[3]}
