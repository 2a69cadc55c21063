"""Registering LoRA files: one with its metadata, or many paths (files and folders) at once."""

from __future__ import annotations

import logging
import os
import stat
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import TypeAdapter
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy import select

from lora_desktop.models.base import new_id, utcnow
from lora_desktop.models.schemas import (
    AdapterCreate,
    AdapterOut,
    Name,
    RegisterEntry,
    RegisterReport,
)
from lora_desktop.models.tables import NAME_MAX, Adapter
from lora_desktop.services.bulk_rows import (
    ADAPTERS,
    DETAILS,
    DETAILS_COLUMNS,
    TAG_COLUMNS,
    TAGS,
    Prepared,
    RowEncoder,
    insert,
    known_paths,
    live_names,
    suffixed_names,
)
from lora_desktop.services.convert import (
    adapter_out,
    refresh_search_text,
    set_tags,
    validate,
)
from lora_desktop.services.errors import Conflict, FileProblem, InvalidParam, ValidationFailed
from lora_desktop.services.gil_handoff import quick_gil_handoff
from lora_desktop.services.inspect.apply import apply_inspection
from lora_desktop.services.inspect.inspection import inspect_file
from lora_desktop.services.inspect.read_ahead import read_ahead_batch
from lora_desktop.services.inspect.sidecars import FolderIndex, folder_listing
from lora_desktop.services.library import ChangeSet, Library

log = logging.getLogger(__name__)

LORA_EXTENSIONS = frozenset({".safetensors", ".pt", ".ckpt", ".pth", ".bin"})
_LORA_ENDINGS = tuple(LORA_EXTENSIONS)
BATCH_SIZE = 1000
FIRST_BATCH_SIZE = 100
"""The first batch is small: its rows are committed and shown within a moment."""
LISTINGS_KEPT = 64
"""Folders whose sidecar index is kept from one batch to the next."""
PUBLISH_INTERVAL_S = 1.0
"""After the first batch, new rows are announced at most this often (and at the end)."""

Progress = Callable[[int, int], None]
"""``progress(done, total)``: called on the registering thread."""
StopCheck = Callable[[], bool]
"""Returns True when the caller wants the batch to stop early."""


def normalise_path(path: str | os.PathLike[str]) -> str:
    """An absolute, normalised path (symlinks kept: the artist chose that name)."""
    return os.path.normpath(os.path.abspath(os.path.expanduser(os.fspath(path))))


@dataclass(frozen=True)
class FileFacts:
    """What a stat tells about a file we may register (``stat``: that stat itself)."""

    path: str
    size: int
    mtime: float
    stat: os.stat_result | None = field(default=None, compare=False, repr=False)


def check_lora_file(path: str) -> FileFacts:
    """Check that ``path`` is an existing, regular, readable LoRA file.

    Raises:
        FileProblem: with a message that says what is wrong.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            raise FileProblem(f"{path} is a broken symbolic link") from None
        raise FileProblem(f"{path} does not exist") from None
    except OSError as exc:
        raise FileProblem(f"{path} cannot be read: {exc.strerror or exc}") from exc
    if stat.S_ISDIR(st.st_mode):
        raise FileProblem(f"{path} is a folder; give a LoRA file")
    if not stat.S_ISREG(st.st_mode):
        raise FileProblem(f"{path} is not a regular file")
    suffix = os.path.splitext(path)[1].lower().rstrip(".")  # as Path.suffix: 'a.' has none
    if suffix not in LORA_EXTENSIONS:
        allowed = ", ".join(sorted(LORA_EXTENSIONS))
        raise FileProblem(
            f"{path} is not a LoRA file (extension {suffix or 'none'}; expected {allowed})"
        )
    if not os.access(path, os.R_OK):
        raise FileProblem(f"{path} is not readable by this user; fix its permissions")
    return FileFacts(path, st.st_size, st.st_mtime, st)


def register(lib: Library, data: AdapterCreate | dict[str, object]) -> AdapterOut:
    """Register one file. The name defaults to the file's stem.

    Raises:
        ValidationFailed: a bad field, by name.
        FileProblem: the file cannot be registered.
        Conflict: the name is taken or the file is already registered.
    """
    create = validate(AdapterCreate, data)
    path = normalise_path(create.file_path)
    try:
        facts = check_lora_file(path)
    except FileProblem as exc:
        raise FileProblem(exc.detail, [InvalidParam("file_path", exc.detail)]) from None
    name = create.name
    if name is None:
        name = validate(AdapterCreate, {"file_path": path, "name": Path(path).stem}).name
        assert name is not None
    found = inspect_file(path)  # before the write lock: it reads files
    with lib.db.write() as session:
        owner = session.scalar(
            select(Adapter.name).where(Adapter.file_path == path, Adapter.deleted_at.is_(None))
        )
        if owner is not None:
            raise Conflict(
                f"{path} is already registered as {owner!r}",
                [InvalidParam("file_path", f"already registered as {owner!r}")],
            )
        taken = session.scalar(
            select(Adapter.id).where(Adapter.name == name, Adapter.deleted_at.is_(None))
        )
        if taken is not None:
            hint = "" if create.name else " (the file's stem); give another name"
            raise Conflict(
                f"the name {name!r} is already used by another adapter{hint}",
                [InvalidParam("name", "already used by another adapter")],
            )
        now = utcnow()
        adapter = Adapter(
            id=new_id(),
            name=name,
            version=create.version,
            file_path=path,
            weight=create.weight,
            active=create.active,
            ordinal=create.ordinal,
            archetype=create.archetype,
            archetype_confidence=create.archetype_confidence,
            trigger_words=list(create.trigger_words),
            notes=create.notes,
            file_size=facts.size,
            file_mtime=facts.mtime,
            file_status="ok",
            created_at=now,
            updated_at=now,
        )
        set_tags(adapter, list(create.tags))
        # What the artist gave counts as edited: the files don't override it.
        adapter.edited_fields = sorted(
            create.model_fields_set & {"tags", "trigger_words", "weight", "notes"}
        )
        apply_inspection(session, adapter, found)
        adapter.file_size, adapter.file_mtime = facts.size, facts.mtime
        adapter.updated_at = now
        refresh_search_text(adapter)
        session.add(adapter)
        session.flush()
        out = adapter_out(adapter)
    lib.publish(ChangeSet(added=(out.id,)))
    return out


def _walk(folder: str) -> Iterator[str]:
    """LoRA files under ``folder``, recursively, sorted; unreadable subfolders are skipped."""
    for root, dirs, files in os.walk(folder, onerror=lambda exc: log.warning("%s", exc)):
        dirs.sort()
        for name in sorted(files):
            # endswith first: most entries of a LoRA folder are sidecars and previews.
            lowered = name.lower()
            if lowered.endswith(_LORA_ENDINGS) and os.path.splitext(lowered)[1] in LORA_EXTENSIONS:
                yield os.path.join(root, name)


def expand_paths(paths: Iterable[str | os.PathLike[str]]) -> list[str]:
    """Given paths (files and folders) to the list of candidate files, folders expanded."""
    out: list[str] = []
    seen: set[str] = set()
    for raw in paths:
        path = normalise_path(raw)
        candidates = _walk(path) if os.path.isdir(path) else [path]
        for candidate in candidates:
            if candidate not in seen:
                seen.add(candidate)
                out.append(candidate)
    return out


def _stem(path: str) -> str:
    """``Path(path).stem.strip()`` without building a Path (it runs for every file)."""
    base = os.path.basename(path)
    dot = base.rfind(".")
    return (base[:dot] if 0 < dot < len(base) - 1 else base).strip()


_NAME: TypeAdapter[str] = TypeAdapter(Name)


def _name_for(stem: str, taken: set[str]) -> tuple[str | None, str | None]:
    """A free name for a file's stem; (None, reason) if the stem can't be a name."""
    try:
        name = _NAME.validate_python(stem)  # AdapterCreate's own check of a name
    except PydanticValidationError as exc:
        reason = ValidationFailed.from_pydantic(exc).invalid_params[0].reason
        return None, f"its name {stem[:60]!r} {reason}; rename the file"
    if name not in taken:
        return name, None
    for n in range(2, 10_000):
        candidate = f"{name[: NAME_MAX - 6]}~{n}"
        if candidate not in taken:
            return candidate, f"name {name!r} was taken; registered as {candidate!r}"
    return None, f"name {name!r} is taken"


def register_many(
    lib: Library,
    paths: Sequence[str | os.PathLike[str]],
    *,
    progress: Progress | None = None,
    should_stop: StopCheck | None = None,
) -> RegisterReport:
    """Register every LoRA file among ``paths`` (folders recursively), in bulk.

    Never raises for one bad path: each gets a line in the report (added, already
    registered, or skipped with the reason). Files are committed in batches, so
    stopping early keeps what was registered so far. The first batch is small and
    announced at once (``ChangeSet.added``), so the list shows rows while the rest
    is read; later batches are announced at most once a second, and at the end.
    """
    files = expand_paths(paths)
    entries: list[RegisterEntry] = []
    if progress:
        progress(0, len(files))
    with quick_gil_handoff():  # the window paints the first rows while the rest is read
        _register_batches(lib, files, entries, progress, should_stop)
    return RegisterReport(entries=entries)


def _register_batches(
    lib: Library,
    files: list[str],
    entries: list[RegisterEntry],
    progress: Progress | None,
    should_stop: StopCheck | None,
) -> None:
    """Register ``files`` batch by batch, adding their lines to ``entries``."""
    total = len(files)
    unannounced: list[str] = []
    announced_at: float | None = None
    listings: dict[str, FolderIndex] = {}
    start = 0
    while start < total:
        if should_stop and should_stop():
            break
        size = FIRST_BATCH_SIZE if start == 0 else BATCH_SIZE
        chunk = files[start : start + size]
        start += len(chunk)
        read_ahead_batch(chunk)  # a cold batch: the disk reads ahead while we parse
        chunk_entries, chunk_ids = _register_chunk(lib, chunk, listings)
        entries.extend(chunk_entries)
        unannounced.extend(chunk_ids)
        if progress:
            progress(start, total)
        now = time.monotonic()
        if unannounced and (announced_at is None or now - announced_at >= PUBLISH_INTERVAL_S):
            # The first rows show while the rest is read; later ones now and then.
            lib.publish(ChangeSet(added=tuple(unannounced)))
            unannounced, announced_at = [], now
    if unannounced:
        lib.publish(ChangeSet(added=tuple(unannounced)))


def _inspect_new(
    chunk: list[str],
    known: dict[str, str],
    encoder: RowEncoder,
    listings: dict[str, FolderIndex],
    pause: Callable[[], object] = lambda: None,
) -> dict[str, Prepared | str]:
    """Check, inspect and encode each new file (outside any lock): its row or the skip reason.

    ``listings`` keeps each folder's sidecar index for the next batches (a folder is
    listed once even when batches split it)."""
    out: dict[str, Prepared | str] = {}
    for path in chunk:
        if path in known:
            continue
        pause()  # the window may be painting the rows announced so far
        try:
            facts = check_lora_file(path)
        except FileProblem as exc:
            out[path] = exc.detail
            continue
        folder = os.path.dirname(path)
        if folder not in listings:
            if len(listings) >= LISTINGS_KEPT:
                listings.clear()
            listings[folder] = folder_listing(folder)
        # Trigger-word suggestions come with the hash pass (hash_service._store). The
        # header reader takes the stat just made rather than making its own.
        found = inspect_file(path, names=listings[folder], candidates=False, before=facts.stat)
        out[path] = encoder.prepare(found, facts.size, facts.mtime)
    return out


def _register_chunk(
    lib: Library, chunk: list[str], listings: dict[str, FolderIndex]
) -> tuple[list[RegisterEntry], list[str]]:
    entries: list[RegisterEntry] = []
    records: list[tuple[object, ...]] = []
    tag_records: list[tuple[object, ...]] = []
    details_records: list[tuple[object, ...]] = []
    encoder = RowEncoder(lib.db.engine.dialect)
    with lib.db.read() as session:  # not held while the files are read
        known = known_paths(session, chunk)
    inspected = _inspect_new(chunk, known, encoder, listings, lib.window_busy.wait_turn)
    with lib.db.write() as session:
        known = known_paths(session, chunk)
        # Names are stems trimmed, as validation trims them: look up what will be inserted.
        taken = live_names(session, {_stem(p) for p in chunk})
        now = encoder.timestamp(utcnow())
        for path in chunk:
            if path in known:
                entries.append(
                    RegisterEntry(path=path, outcome="already_registered", adapter_id=known[path])
                )
                continue
            result = inspected.get(path)
            if result is None:  # registered elsewhere, then deleted, in between: check again
                result = _inspect_new([path], {}, encoder, listings)[path]
            if isinstance(result, str):
                entries.append(RegisterEntry(path=path, outcome="skipped", reason=result))
                continue
            stem = _stem(path)
            if stem in taken:
                taken |= suffixed_names(session, stem)
            name, note = _name_for(stem, taken)
            if name is None:
                entries.append(RegisterEntry(path=path, outcome="skipped", reason=note))
                continue
            taken.add(name)
            adapter_id = new_id()
            records.append(encoder.record(result, adapter_id, name, now))
            tag_records.extend((adapter_id, tag, i) for i, tag in enumerate(result.tags))
            details_records.append((adapter_id, *result.details))
            entries.append(
                RegisterEntry(
                    path=path,
                    outcome="added",
                    reason=note,
                    adapter_id=adapter_id,
                    problem=result.problem,
                )
            )
        insert(session, ADAPTERS, encoder.columns, records)
        insert(session, TAGS, TAG_COLUMNS, tag_records)
        insert(session, DETAILS, DETAILS_COLUMNS, details_records)
    return entries, [str(r[0]) for r in records]
