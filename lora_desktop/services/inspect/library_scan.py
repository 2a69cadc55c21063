"""Library-wide views of the files: duplicates, a cheap rescan, re-inspecting a folder."""

from __future__ import annotations

import logging
import os
from collections import defaultdict

from sqlalchemy import func, select

from lora_desktop.models.base import utcnow
from lora_desktop.models.schemas import AdapterOut, DuplicateGroup, RescanReport
from lora_desktop.models.tables import Adapter
from lora_desktop.services.inspect.apply import inspect_adapter
from lora_desktop.services.library import ChangeSet, Library

log = logging.getLogger(__name__)


def find_duplicates(lib: Library) -> list[DuplicateGroup]:
    """Groups of live adapters with the same content.

    ``same_file``: the same SHA-256. ``same_weights``: the same weights' SHA-256
    (AutoV3) but different file SHA-256s, i.e. the same weights with different
    metadata. Each group lists ids and names in name order.
    """
    live = Adapter.deleted_at.is_(None)
    with lib.db.read() as session:
        same_file = set(
            session.scalars(
                select(Adapter.sha256)
                .where(live, Adapter.sha256.is_not(None))
                .group_by(Adapter.sha256)
                .having(func.count() > 1)
            )
        )
        same_weights = set(
            session.scalars(
                select(Adapter.sha256_weights)
                .where(live, Adapter.sha256_weights.is_not(None))
                .group_by(Adapter.sha256_weights)
                .having(func.count(func.distinct(Adapter.sha256)) > 1)
            )
        )
        rows = session.execute(
            select(Adapter.id, Adapter.name, Adapter.sha256, Adapter.sha256_weights)
            .where(
                live, (Adapter.sha256.in_(same_file)) | (Adapter.sha256_weights.in_(same_weights))
            )
            .order_by(Adapter.name, Adapter.id)
        ).all()
    files: dict[str, list[tuple[str, str]]] = defaultdict(list)
    weights: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for adapter_id, name, sha, sha_weights in rows:
        if sha is not None and sha in same_file:
            files[sha].append((adapter_id, name))
        if sha_weights is not None and sha_weights in same_weights:
            weights[sha_weights].append((adapter_id, name))
    groups = [
        DuplicateGroup(
            kind="same_file", hash=h, adapter_ids=[i for i, _ in m], names=[n for _, n in m]
        )
        for h, m in sorted(files.items())
    ]
    groups += [
        DuplicateGroup(
            kind="same_weights", hash=h[:12], adapter_ids=[i for i, _ in m], names=[n for _, n in m]
        )
        for h, m in sorted(weights.items())
    ]
    return groups


def rescan(lib: Library) -> RescanReport:
    """Stat every live adapter's file (reading none): size and mtime decide.

    A file gone is marked missing; a missing file back is ok again; a file whose
    size or mtime changed is inspected again (its hash becomes pending). Unchanged
    files are not opened.
    """
    with lib.db.read() as session:
        rows = session.execute(
            select(
                Adapter.id,
                Adapter.file_path,
                Adapter.file_size,
                Adapter.file_mtime,
                Adapter.file_status,
            ).where(Adapter.deleted_at.is_(None))
        ).all()
    missing: list[str] = []
    restored: list[str] = []
    changed: list[str] = []
    unchanged = 0
    for adapter_id, path, size, mtime, status in rows:
        try:
            st = os.stat(path)
        except OSError:
            if status != "missing":
                missing.append(adapter_id)
            else:
                unchanged += 1
            continue
        if status == "missing":
            restored.append(adapter_id)
        if (st.st_size, st.st_mtime) != (size, mtime):
            changed.append(adapter_id)
        elif status != "missing":
            unchanged += 1
    if missing or restored:
        now = utcnow()
        with lib.db.write() as session:
            for ids, status in ((missing, "missing"), (restored, "ok")):
                for adapter in session.scalars(select(Adapter).where(Adapter.id.in_(ids))):
                    adapter.file_status = status
                    adapter.updated_at = now
    reinspected = [inspect_adapter(lib, adapter_id).id for adapter_id in changed]
    lib.publish(ChangeSet(updated=tuple(missing + [r for r in restored if r not in changed])))
    return RescanReport(
        reinspected=reinspected, missing=missing, restored=restored, unchanged=unchanged
    )


def scan_path(lib: Library, path: str, *, reimport: bool = False) -> list[AdapterOut]:
    """Inspect again every live adapter whose file is ``path`` or lies under it.

    ``reimport`` lets sidecars and headers override the artist's edits.
    """
    target = os.path.normpath(os.path.abspath(os.path.expanduser(path)))
    prefix = target.rstrip(os.sep) + os.sep
    with lib.db.read() as session:
        ids = list(
            session.scalars(
                select(Adapter.id)
                .where(
                    Adapter.deleted_at.is_(None),
                    (Adapter.file_path == target)
                    | (func.substr(Adapter.file_path, 1, len(prefix)) == prefix),
                )
                .order_by(Adapter.file_path)
            )
        )
    return [inspect_adapter(lib, adapter_id, reimport=reimport) for adapter_id in ids]
