"""Bringing the rows in line with the disk: stat-based, for every row or given paths.

The disk is the truth; watcher events only say where to look. For each row
concerned: its library folder gone (an unplugged drive) → ``unavailable``; its
file gone → ``missing``; back → ``ok``; size or mtime changed → re-inspected and
``changed`` until its hash is computed again. New LoRA files under library
folders are first matched against missing rows (size and quick key: a file moved
while nobody watched is relinked); the rest are registered when their folder
imports automatically and their size has settled. Nothing the artist wrote is
ever touched, and no row is deleted.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, or_, select, update

from lora_desktop.models.base import utcnow
from lora_desktop.models.schemas import ReconcileReport
from lora_desktop.models.tables import Adapter, LibraryFolder
from lora_desktop.services.bulk_rows import known_paths
from lora_desktop.services.errors import DomainError
from lora_desktop.services.fetching import fetch_all
from lora_desktop.services.folders import folder_of
from lora_desktop.services.inspect.apply import inspect_adapter
from lora_desktop.services.library import ChangeSet, Library
from lora_desktop.services.registration import LORA_EXTENSIONS, normalise_path, register_many
from lora_desktop.services.relink import (
    lora_files,
    match_files,
    missing_rows,
    quick_key,
    relink,
    store_quick_keys,
)

log = logging.getLogger(__name__)

IGNORED_SUFFIXES = (".part", ".crdownload", ".tmp")
IGNORED_PREFIXES = ("~$", ".~lock")

StableCheck = Callable[[str, os.stat_result], bool]
"""``stable(path, stat)``: whether a new file's size has settled (it may be imported)."""


def ignored_name(path: str) -> bool:
    """Download and editor temporary names: ``*.part``, ``*.crdownload``, ``*.tmp``,
    ``~$*``, ``.~lock*``."""
    name = os.path.basename(path)
    lower = name.lower()
    return lower.endswith(IGNORED_SUFFIXES) or name.startswith(IGNORED_PREFIXES)


def is_lora_name(path: str) -> bool:
    """A LoRA extension and not a temporary name."""
    return os.path.splitext(path)[1].lower() in LORA_EXTENSIONS and not ignored_name(path)


def settled_by_age(settle: float) -> StableCheck:
    """Stable when the file was last modified at least ``settle`` seconds ago."""

    def stable(_path: str, st: os.stat_result) -> bool:
        return time.time() - st.st_mtime >= settle

    return stable


@dataclass
class _Outcome:
    status: dict[str, str] = field(default_factory=dict)  # id -> new status
    changed: list[str] = field(default_factory=list)
    unchanged: int = 0


@dataclass(frozen=True)
class FolderState:
    """The library folders and whether each is there right now."""

    folders: dict[str, bool]  # path -> auto_import
    present: dict[str, bool]

    @classmethod
    def load(cls, lib: Library) -> FolderState:
        """Read the folders and check each root exists."""
        with lib.db.read() as session:
            rows = session.execute(select(LibraryFolder.path, LibraryFolder.auto_import)).all()
        folders = {path: bool(auto) for path, auto in rows}
        return cls(folders, {path: os.path.isdir(path) for path in folders})

    def unavailable(self, path: str) -> bool:
        """Whether ``path`` lies in a library folder that is gone."""
        root = folder_of(path, self.folders)
        return root is not None and not self.present[root]

    def auto_import(self, path: str) -> bool:
        """Whether ``path`` lies in a present library folder that imports new files."""
        root = folder_of(path, self.folders)
        return root is not None and self.present[root] and self.folders[root]


def _check_rows(
    rows: Sequence[tuple[str, str, int | None, float | None, str]], state: FolderState
) -> _Outcome:
    out = _Outcome()
    for adapter_id, path, size, mtime, status in rows:
        if state.unavailable(path):
            new = "unavailable"
        else:
            try:
                st = os.stat(path)
            except OSError:
                new = "missing"
            else:
                if (st.st_size, st.st_mtime) != (size, mtime):
                    out.changed.append(adapter_id)
                    new = "changed"
                else:
                    new = "changed" if status == "changed" else "ok"
        if new != status:
            out.status[adapter_id] = new
        elif adapter_id not in out.changed:
            out.unchanged += 1
    return out


def _row_query(paths: Sequence[str] | None) -> object:
    query = select(
        Adapter.id, Adapter.file_path, Adapter.file_size, Adapter.file_mtime, Adapter.file_status
    ).where(Adapter.deleted_at.is_(None))
    if paths is not None:
        conditions = []
        for path in paths:
            prefix = path.rstrip(os.sep) + os.sep
            conditions.append(Adapter.file_path == path)
            conditions.append(func.substr(Adapter.file_path, 1, len(prefix)) == prefix)
        query = query.where(or_(*conditions))
    return query


def _load_rows(
    lib: Library, paths: Sequence[str] | None
) -> list[tuple[str, str, int | None, float | None, str]]:
    result: list[tuple[str, str, int | None, float | None, str]] = []
    with lib.db.read() as session:
        chunk = 200  # SQLite limits the number of terms in one statement
        groups: list[Sequence[str] | None] = (
            [None] if paths is None else [paths[i : i + chunk] for i in range(0, len(paths), chunk)]
        )
        for group in groups:
            # Core, not the ORM: an ORM result fetches every row from the cursor at once.
            rows = fetch_all(session.connection().execute(_row_query(group)))  # type: ignore[call-overload]
            result.extend(tuple(r) for r in rows)
    return result


def _write_statuses(lib: Library, status: dict[str, str]) -> None:
    if not status:
        return
    now = utcnow()
    by_status: dict[str, list[str]] = {}
    for adapter_id, new in status.items():
        by_status.setdefault(new, []).append(adapter_id)
    with lib.db.write() as session:
        for new, ids in by_status.items():
            for start in range(0, len(ids), 500):
                session.execute(
                    update(Adapter)
                    .where(Adapter.id.in_(ids[start : start + 500]))
                    .values(file_status=new, updated_at=now)
                )


def _reinspect(lib: Library, ids: Sequence[str]) -> list[str]:
    done: list[str] = []
    for adapter_id in ids:
        try:
            inspect_adapter(lib, adapter_id)
        except DomainError as exc:
            log.warning("cannot re-inspect %s: %s", adapter_id, exc.detail)
            continue
        done.append(adapter_id)
    if done:
        _store_facts(lib, done)
    return done


def _store_facts(lib: Library, ids: Sequence[str]) -> None:
    """Store each file's size, mtime and quick key (inspection keeps no size for a file
    it could not read as safetensors; without it the next reconcile would see a change)."""
    with lib.db.read() as session:
        rows = session.execute(
            select(Adapter.id, Adapter.file_path).where(Adapter.id.in_(list(ids)))
        ).all()
    values: list[dict[str, object]] = []
    for adapter_id, path in rows:
        try:
            st = os.stat(path)
            key: str | None = quick_key(path)
        except OSError:
            continue
        values.append({"id": adapter_id, "size": st.st_size, "mtime": st.st_mtime, "key": key})
    with lib.db.write() as session:
        for v in values:
            session.execute(
                update(Adapter)
                .where(Adapter.id == v["id"])
                .values(file_size=v["size"], file_mtime=v["mtime"], quick_key=v["key"])
            )


def _sidecar_owners(lib: Library, paths: Iterable[str]) -> list[str]:
    """Adapters whose sidecar or preview is one of ``paths`` (``<stem>.<anything>``)."""
    wanted: dict[str, list[str]] = {}
    for path in paths:
        wanted.setdefault(os.path.dirname(path), []).append(os.path.basename(path).lower())
    owners: list[str] = []
    with lib.db.read() as session:
        for folder, names in wanted.items():
            prefix = folder.rstrip(os.sep) + os.sep
            rows = session.execute(
                select(Adapter.id, Adapter.file_path).where(
                    Adapter.deleted_at.is_(None),
                    func.substr(Adapter.file_path, 1, len(prefix)) == prefix,
                )
            ).all()
            for adapter_id, file_path in rows:
                rest = file_path[len(prefix) :]
                if os.sep in rest:
                    continue
                stem = os.path.splitext(rest)[0].lower() + "."
                if any(n.startswith(stem) and n != rest.lower() for n in names):
                    owners.append(adapter_id)
    return owners


def _new_files(lib: Library, candidates: Iterable[str]) -> list[str]:
    files = sorted({p for p in candidates if is_lora_name(p)})
    if not files:
        return []
    with lib.db.read() as session:
        known: set[str] = set()
        for start in range(0, len(files), 500):  # through the live-path index (bulk_rows)
            known.update(known_paths(session, files[start : start + 500]))
    return [p for p in files if p not in known]


def _gone_with_sizes(lib: Library, files: Sequence[str], state: FolderState) -> list[str]:
    """Mark missing the rows whose file is gone and whose size one of ``files`` has.

    Their delete events may not have been processed yet: a new file that is one
    of them moved must be relinked, never registered a second time.
    """
    sizes: set[int] = set()
    for path in files:
        try:
            sizes.add(os.stat(path).st_size)
        except OSError:
            continue
    if not sizes:
        return []
    ordered = sorted(sizes)
    gone: list[str] = []
    with lib.db.read() as session:
        for start in range(0, len(ordered), 500):
            rows = session.execute(
                select(Adapter.id, Adapter.file_path).where(
                    Adapter.deleted_at.is_(None),
                    Adapter.file_status.in_(("ok", "changed")),
                    Adapter.file_size.in_(ordered[start : start + 500]),
                )
            ).all()
            gone.extend(i for i, p in rows if not state.unavailable(p) and not os.path.exists(p))
    _write_statuses(lib, dict.fromkeys(gone, "missing"))
    return gone


def _import(
    lib: Library, files: list[str], state: FolderState, stable: StableCheck, report: ReconcileReport
) -> tuple[list[str], list[str]]:
    """Relink new files to missing rows, then register the settled ones of auto-import folders."""
    report.missing.extend(_gone_with_sizes(lib, files, state))
    relinked = relink(lib, match_files(files, missing_rows(lib)), publish=False) if files else []
    with lib.db.read() as session:
        taken = set(session.scalars(select(Adapter.file_path).where(Adapter.id.in_(relinked))))
    to_register: list[str] = []
    for path in files:
        if path in taken or not state.auto_import(path):
            continue
        try:
            st = os.stat(path)
        except OSError:
            continue
        if stable(path, st):
            to_register.append(path)
        else:
            report.waiting.append(path)
    added: list[str] = []
    if to_register:
        result = register_many(lib, to_register)
        added = [e.adapter_id for e in result.entries if e.outcome == "added" and e.adapter_id]
        store_quick_keys(lib, added)
    return relinked, added


def reconcile(
    lib: Library,
    paths: Sequence[str] | None = None,
    *,
    stable: StableCheck | None = None,
    settle: float = 0.0,
) -> ReconcileReport:
    """Check rows against the disk: every row (``paths`` None) or those at or under ``paths``.

    With ``paths`` None every library folder is also walked for new files (and
    files moved while the app was closed). New files are imported when ``stable``
    says so (default: last modified at least ``settle`` seconds ago); the others
    are listed in ``waiting``. One change set is published at the end (additions
    by registration publish their own).
    """
    state = FolderState.load(lib)
    stable = stable or settled_by_age(settle)
    targets = None if paths is None else sorted({normalise_path(p) for p in paths})
    rows = _load_rows(lib, targets)
    outcome = _check_rows(rows, state)
    _write_statuses(lib, outcome.status)
    changed = _reinspect(lib, outcome.changed)
    report = ReconcileReport(unchanged=outcome.unchanged)
    if targets is None:
        candidates = [f for root in state.folders if state.present[root] for f in lora_files(root)]
        sidecars: list[str] = []
    else:
        candidates, sidecars = [], []
        for path in targets:
            if os.path.isdir(path):
                candidates.extend(lora_files(path))
            elif is_lora_name(path):
                candidates.append(path)
            elif os.path.exists(path) and not ignored_name(path):
                sidecars.append(path)
    relinked, added = _import(lib, _new_files(lib, candidates), state, stable, report)
    reread = [i for i in _reinspect(lib, _sidecar_owners(lib, sidecars)) if i not in changed]
    lists = {"missing": report.missing, "unavailable": report.unavailable, "ok": report.restored}
    for adapter_id, status in outcome.status.items():
        lists.get(status, report.changed).append(adapter_id)
    for adapter_id in changed:
        if adapter_id not in report.changed:
            report.changed.append(adapter_id)
    report.relinked.extend(relinked)
    report.missing[:] = [i for i in report.missing if i not in set(relinked)]
    report.added.extend(added)
    updated = tuple(dict.fromkeys([*outcome.status, *changed, *relinked, *reread]))
    lib.publish(ChangeSet(updated=updated))
    return report


def mark_rehashed(lib: Library, ids: Sequence[str]) -> None:
    """After a re-hash, ``changed`` rows whose hash is current again become ``ok``."""
    with lib.db.write() as session:
        session.execute(
            update(Adapter)
            .where(
                Adapter.id.in_(list(ids)),
                Adapter.file_status == "changed",
                Adapter.hash_size == Adapter.file_size,
                Adapter.hash_mtime == Adapter.file_mtime,
            )
            .values(file_status="ok")
        )
    lib.publish(ChangeSet(updated=tuple(ids)))


def changed_ids(lib: Library) -> list[str]:
    """Live adapters marked ``changed`` (their hash is to be computed again)."""
    with lib.db.read() as session:
        return list(
            session.scalars(
                select(Adapter.id).where(
                    Adapter.deleted_at.is_(None), Adapter.file_status == "changed"
                )
            )
        )


__all__ = ["FolderState", "changed_ids", "ignored_name", "mark_rehashed", "quick_key", "reconcile"]
