"""Finding a missing file again: by size and a quick key first, the full SHA-256 confirming.

The quick key is the SHA-256 of a file's first and last MiB (the whole file when
it is smaller than 2 MiB) with the size mixed in: about 2 ms a file, against
tens of milliseconds for a full hash. Two files with the same size and quick key
are taken to be the same file at once; the full hash, computed later in the
background (``confirm_relinked``), has the last word.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, select, update

from lora_desktop.models.base import utcnow
from lora_desktop.models.tables import Adapter
from lora_desktop.services.bulk_rows import known_paths
from lora_desktop.services.inspect.hashing import hash_file
from lora_desktop.services.library import ChangeSet, Library
from lora_desktop.services.registration import LORA_EXTENSIONS, normalise_path

log = logging.getLogger(__name__)

MIB = 1024 * 1024
StopCheck = Callable[[], bool]


def quick_key(path: str) -> str:
    """SHA-256 of the size, the first MiB and the last MiB of ``path``.

    Raises:
        OSError: the file cannot be read.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        digest.update(size.to_bytes(8, "little"))
        digest.update(handle.read(MIB))
        if size > 2 * MIB:
            handle.seek(size - MIB)
            digest.update(handle.read(MIB))
        elif size > MIB:
            digest.update(handle.read())
    return digest.hexdigest()


def full_sha256(path: str) -> str:
    """SHA-256 of the whole file (read in 4 MiB blocks)."""
    digest = hashlib.sha256()
    with open(path, "rb", buffering=0) as handle:
        while block := handle.read(4 * MIB):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class MissingRow:
    """A live adapter whose file is missing, with what identifies its content."""

    id: str
    size: int | None
    quick_key: str | None
    sha256: str | None
    file_name: str = ""


def missing_rows(lib: Library) -> list[MissingRow]:
    """Every live adapter marked missing."""
    with lib.db.read() as session:
        rows = session.execute(
            select(
                Adapter.id, Adapter.file_size, Adapter.quick_key, Adapter.sha256, Adapter.file_path
            ).where(Adapter.deleted_at.is_(None), Adapter.file_status == "missing")
        ).all()
    return [MissingRow(i, size, key, sha, os.path.basename(p)) for i, size, key, sha, p in rows]


def match_files(
    candidates: Iterable[str], missing: Sequence[MissingRow], *, full_hash_fallback: bool = True
) -> dict[str, str]:
    """Pair files with missing rows: {adapter id: path}.

    A file is read only when its size equals a missing row's size. Rows with a
    quick key match on it; rows with only a full SHA-256 match on that (slower).
    A row with neither (registered moments before its file moved: its key was
    not computed yet) matches a file of the same size and the same name.
    """
    by_size: dict[int, list[MissingRow]] = defaultdict(list)
    for row in missing:
        if row.size is not None:
            by_size[row.size].append(row)
    found: dict[str, str] = {}
    for path in candidates:
        try:
            size = os.stat(path).st_size
        except OSError:
            continue
        rows = [r for r in by_size.get(size, ()) if r.id not in found]
        if not rows:
            continue
        try:
            key = quick_key(path) if any(r.quick_key for r in rows) else None
            match = next((r for r in rows if key is not None and r.quick_key == key), None)
            if match is None and full_hash_fallback and any(r.sha256 for r in rows):
                sha = full_sha256(path)
                match = next((r for r in rows if r.sha256 == sha), None)
            if match is None:
                name = os.path.basename(path)
                match = next(
                    (r for r in rows if not (r.quick_key or r.sha256) and r.file_name == name),
                    None,
                )
        except OSError as exc:
            log.debug("cannot read %s: %s", path, exc)
            continue
        if match is not None:
            found[match.id] = path
    return found


def relink(lib: Library, pairs: dict[str, str], *, publish: bool = True) -> list[str]:
    """Point each adapter at its found file (status ok), in one transaction; return the ids.

    Everything the artist wrote stays; the stored hash is kept (``confirm_relinked``
    checks it). A path another live adapter already has is skipped.
    """
    if not pairs:
        return []
    now = utcnow()
    done: list[str] = []
    with lib.db.write() as session:
        taken = set(known_paths(session, list(pairs.values())))  # the live-path index
        for adapter_id, path in pairs.items():
            if path in taken:
                continue
            st = os.stat(path)
            session.execute(
                update(Adapter)
                .where(Adapter.id == adapter_id)
                .values(
                    file_path=path,
                    file_status="ok",
                    file_mtime=st.st_mtime,
                    hash_mtime=st.st_mtime,
                    file_inode=st.st_ino,
                    updated_at=now,
                )
            )
            taken.add(path)
            done.append(adapter_id)
    if done:
        log.info("relinked %d missing files", len(done))
        if publish:
            lib.publish(ChangeSet(updated=tuple(done)))
    return done


def lora_files(folder: str) -> list[str]:
    """Every LoRA file under ``folder``, recursively (unreadable folders skipped)."""
    found: list[str] = []
    for root, _dirs, files in os.walk(folder):
        found.extend(
            os.path.join(root, n)
            for n in files
            if os.path.splitext(n)[1].lower() in LORA_EXTENSIONS
        )
    return found


def locate_missing(lib: Library, folder: str) -> list[str]:
    """Search ``folder`` (any folder, watched or not) for missing files; relink those found.

    Returns the relinked adapter ids.
    """
    root = normalise_path(folder)
    missing = missing_rows(lib)
    if not missing:
        return []
    with lib.db.read() as session:
        registered = set(
            session.scalars(select(Adapter.file_path).where(Adapter.deleted_at.is_(None)))
        )
    candidates = [p for p in lora_files(root) if p not in registered]
    return relink(lib, match_files(candidates, missing))


def fill_quick_keys(lib: Library, *, should_stop: StopCheck | None = None, limit: int = 0) -> int:
    """Compute the quick key of files that have none (so a later move can be relinked).

    Returns how many were stored. Runs in the background, a file at a time.
    """
    query = select(Adapter.id, Adapter.file_path).where(
        Adapter.deleted_at.is_(None), Adapter.file_status == "ok", Adapter.quick_key.is_(None)
    )
    if limit:
        query = query.limit(limit)
    with lib.db.read() as session:
        rows = session.execute(query).all()
    keys: list[tuple[str, str]] = []
    for adapter_id, path in rows:
        if should_stop is not None and should_stop():
            break
        try:
            keys.append((adapter_id, quick_key(path)))
        except OSError:
            continue
    _write_quick_keys(lib, keys)
    return len(keys)


def store_quick_keys(lib: Library, ids: Sequence[str]) -> None:
    """Compute and store the quick key of these adapters' files now."""
    with lib.db.read() as session:
        rows = session.execute(
            select(Adapter.id, Adapter.file_path).where(Adapter.id.in_(list(ids)))
        ).all()
    keys: list[tuple[str, str | None]] = []
    for adapter_id, path in rows:
        try:
            keys.append((adapter_id, quick_key(path)))
        except OSError:
            keys.append((adapter_id, None))
    _write_quick_keys(lib, keys)


def _write_quick_keys(lib: Library, keys: Sequence[tuple[str, str | None]]) -> None:
    """Store quick keys in one statement run for every row (an UPDATE per row, each
    built and compiled, took as long as reading the files)."""
    if keys:
        with lib.db.write() as session:
            session.execute(
                update(Adapter.__table__)  # type: ignore[arg-type]
                .where(Adapter.__table__.c.id == bindparam("row_id"))
                .values(quick_key=bindparam("key")),
                [{"row_id": adapter_id, "key": key} for adapter_id, key in keys],
            )


def confirm_relinked(
    lib: Library, ids: Sequence[str], *, should_stop: StopCheck | None = None
) -> list[str]:
    """Hash relinked files in full and compare with the stored SHA-256.

    A file whose hash differs keeps its row (the artist's data stays) but gets the
    new hash, and a warning is logged. Returns the ids whose hash differed.
    """
    differed: list[str] = []
    for adapter_id in ids:
        if should_stop is not None and should_stop():
            break
        with lib.db.read() as session:
            row = session.execute(
                select(Adapter.file_path, Adapter.sha256).where(Adapter.id == adapter_id)
            ).first()
        if row is None or row.sha256 is None:
            continue
        try:
            result = hash_file(row.file_path)
        except Exception as exc:  # a changed or vanished file: the next reconcile sees it
            log.debug("cannot confirm %s: %s", row.file_path, exc)
            continue
        if result.sha256 == row.sha256:
            continue
        log.warning("relinked %s but its SHA-256 differs; storing the new hash", row.file_path)
        differed.append(adapter_id)
        with lib.db.write() as session:
            session.execute(
                update(Adapter)
                .where(Adapter.id == adapter_id)
                .values(
                    sha256=result.sha256,
                    sha256_weights=result.sha256_weights,
                    hash_size=result.size,
                    hash_mtime=result.mtime,
                    hashed_at=utcnow(),
                )
            )
    if differed:
        lib.publish(ChangeSet(updated=tuple(differed)))
    return differed
