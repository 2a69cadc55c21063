"""Registering one file, and many paths at once with a per-path report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lora_desktop.services import adapters, registration
from lora_desktop.services.library import ChangeSet, Library
from tests.conftest import make_lora


def test_register_one_file_with_defaults(library: Library, lora_dir: Path) -> None:
    path = make_lora(lora_dir, "Cyber City v2.safetensors", b"x" * 123)
    changes: list[ChangeSet] = []
    library.subscribe(changes.append)
    start = datetime.now(UTC)

    out = registration.register(library, {"file_path": str(path)})

    assert out.name == "Cyber City v2"  # the file's stem
    assert out.file_path == str(path)
    assert (out.weight, out.active, out.ordinal, out.tags, out.version) == (
        1.0,
        False,
        None,
        [],
        None,
    )
    assert (out.file_size, out.file_status, out.sha256, out.deleted_at) == (123, "ok", None, None)
    for stamp in (out.created_at, out.updated_at):
        assert stamp.utcoffset() == timedelta(0)
        assert start <= stamp <= datetime.now(UTC)
    assert out.created_at == out.updated_at
    assert adapters.get(library, out.id) == out  # read back from the database, still UTC-aware
    assert changes == [ChangeSet(added=(out.id,))]


def test_register_with_every_field(library: Library, lora_dir: Path) -> None:
    path = make_lora(lora_dir, "file.pt")
    out = registration.register(
        library,
        {
            "file_path": str(path),
            "name": "  Pretty Name  ",
            "version": " v3 ",
            "tags": ["B", "a", "b "],
            "trigger_words": ["  red   hair ", "red hair"],
            "weight": -0.25,
            "active": True,
            "ordinal": 2,
            "archetype": "style",
            "archetype_confidence": 0.8,
            "notes": "from the forum",
        },
    )
    assert out.name == "Pretty Name"
    assert out.version == "v3"
    assert out.tags == ["b", "a"]
    assert out.trigger_words == ["red hair"]
    assert (out.weight, out.active, out.ordinal) == (-0.25, True, 2)
    assert (out.archetype, out.archetype_confidence, out.notes) == ("style", 0.8, "from the forum")


def test_every_lora_extension_is_accepted_in_any_case(library: Library, lora_dir: Path) -> None:
    for i, ext in enumerate((".safetensors", ".pt", ".ckpt", ".pth", ".bin", ".SafeTensors")):
        path = make_lora(lora_dir, f"f{i}{ext}")
        assert registration.register(library, {"file_path": str(path)}).name == f"f{i}"


def test_a_relative_path_is_stored_absolute(
    library: Library, lora_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_lora(lora_dir, "rel.safetensors")
    monkeypatch.chdir(lora_dir)
    out = registration.register(library, {"file_path": "./rel.safetensors"})
    assert out.file_path == str(lora_dir / "rel.safetensors")


def test_register_many_reports_every_path(library: Library, lora_dir: Path, tmp_path: Path) -> None:
    known = make_lora(lora_dir, "known.safetensors")
    registration.register(library, {"file_path": str(known)})
    make_lora(lora_dir, "top.safetensors")
    make_lora(lora_dir, "deep/er/nested.ckpt")
    make_lora(lora_dir, "readme.txt")  # not a LoRA: ignored inside a folder
    make_lora(lora_dir, "preview.png")
    loose = make_lora(tmp_path, "loose.pt")
    text = make_lora(tmp_path, "notes.txt")
    missing = tmp_path / "absent.safetensors"
    changes: list[ChangeSet] = []
    library.subscribe(changes.append)

    report = registration.register_many(library, [lora_dir, loose, text, missing, loose])

    by_path = {e.path: e for e in report.entries}
    assert len(report.entries) == len(by_path) == 6  # the repeated path counts once
    assert by_path[str(known)].outcome == "already_registered"
    assert by_path[str(lora_dir / "top.safetensors")].outcome == "added"
    assert by_path[str(lora_dir / "deep/er/nested.ckpt")].outcome == "added"
    assert by_path[str(loose)].outcome == "added"
    assert by_path[str(text)].outcome == "skipped"
    assert "not a LoRA file" in (by_path[str(text)].reason or "")
    assert by_path[str(missing)].outcome == "skipped"
    assert "does not exist" in (by_path[str(missing)].reason or "")
    assert (report.added, report.already_registered, report.skipped) == (3, 1, 2)
    names = {a.name for a in adapters.list_adapters(library).items}
    assert names == {"known", "top", "nested", "loose"}
    added_ids = tuple(e.adapter_id for e in report.entries if e.outcome == "added")
    assert changes == [ChangeSet(added=added_ids)]  # one broadcast for the batch


def test_register_many_twice_adds_nothing_the_second_time(library: Library, lora_dir: Path) -> None:
    for i in range(3):
        make_lora(lora_dir, f"f{i}.safetensors")
    first = registration.register_many(library, [lora_dir])
    changes: list[ChangeSet] = []
    library.subscribe(changes.append)

    second = registration.register_many(library, [lora_dir])

    assert first.added == 3
    assert (second.added, second.already_registered) == (0, 3)
    assert changes == []


def test_duplicate_stems_get_numbered_names_with_a_reason(library: Library, lora_dir: Path) -> None:
    registration.register(library, {"file_path": str(make_lora(lora_dir, "a/style.safetensors"))})
    make_lora(lora_dir, "b/style.safetensors")
    make_lora(lora_dir, "c/style.pt")

    report = registration.register_many(library, [lora_dir / "b", lora_dir / "c"])

    entries = {Path(e.path).parent.name: e for e in report.entries}
    assert entries["b"].outcome == entries["c"].outcome == "added"
    assert entries["b"].reason == "name 'style' was taken; registered as 'style~2'"
    assert entries["c"].reason == "name 'style' was taken; registered as 'style~3'"
    assert adapters.get(library, "style~2").file_path == entries["b"].path
    assert adapters.get(library, "style~3").file_path == entries["c"].path


def test_stems_that_cannot_be_names_are_skipped_with_a_reason(
    library: Library, lora_dir: Path
) -> None:
    make_lora(lora_dir, "a:b.safetensors")
    make_lora(lora_dir, "ok.safetensors")
    report = registration.register_many(library, [lora_dir])
    entries = {Path(e.path).name: e for e in report.entries}
    assert entries["ok.safetensors"].outcome == "added"
    assert entries["a:b.safetensors"].outcome == "skipped"
    assert "rename the file" in (entries["a:b.safetensors"].reason or "")


def test_a_stem_with_surrounding_spaces_clashes_like_its_trimmed_name(
    library: Library, lora_dir: Path
) -> None:
    registration.register(library, {"file_path": str(make_lora(lora_dir, "a/style.safetensors"))})
    make_lora(lora_dir, "b/style .safetensors")
    report = registration.register_many(library, [lora_dir / "b"])
    assert [e.outcome for e in report.entries] == ["added"]
    assert report.entries[0].reason == "name 'style' was taken; registered as 'style~2'"


def test_broken_links_and_unusable_entries_in_a_folder_are_skipped(
    library: Library, lora_dir: Path
) -> None:
    (lora_dir / "dangling.safetensors").symlink_to(lora_dir / "nowhere.safetensors")
    (lora_dir / "dir.safetensors").mkdir()
    make_lora(lora_dir, "dir.safetensors/inside.safetensors")
    report = registration.register_many(library, [lora_dir])
    entries = {Path(e.path).name: e for e in report.entries}
    assert entries["dangling.safetensors"].outcome == "skipped"
    assert "broken symbolic link" in (entries["dangling.safetensors"].reason or "")
    assert entries["inside.safetensors"].outcome == "added"
    assert "dir.safetensors" not in entries  # a folder is walked, not registered


def test_register_many_reports_progress_and_can_stop(
    library: Library, lora_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(registration, "BATCH_SIZE", 2)
    monkeypatch.setattr(registration, "FIRST_BATCH_SIZE", 2)
    for i in range(5):
        make_lora(lora_dir, f"f{i}.safetensors")
    seen: list[tuple[int, int]] = []

    report = registration.register_many(
        library, [lora_dir], progress=lambda done, total: seen.append((done, total))
    )

    assert seen == [(0, 5), (2, 5), (4, 5), (5, 5)]
    assert report.added == 5

    for i in range(5):
        make_lora(lora_dir, f"g{i}.safetensors")
    calls = iter([False, True])
    stopped = registration.register_many(library, [lora_dir], should_stop=lambda: next(calls))
    # The first batch of two was committed before the stop.
    assert len(stopped.entries) == 2
    assert adapters.list_adapters(library).total == 5 + stopped.added


def test_bulk_registration_stores_the_same_metadata_as_one_by_one(
    library: Library, lora_dir: Path
) -> None:
    from tests.inspect_files import kohya_metadata, write_safetensors

    odd = kohya_metadata(**{"ss_note": 'é " \\ \n', "modelspec.thumbnail": "http://x/y.png"})
    for stem in ("bulk", "single"):
        write_safetensors(lora_dir / f"{stem}.safetensors", odd)
    write_safetensors(lora_dir / "plain.safetensors", kohya_metadata())
    registration.register_many(
        library, [lora_dir / "bulk.safetensors", lora_dir / "plain.safetensors"]
    )
    registration.register(library, {"file_path": str(lora_dir / "single.safetensors")})
    bulk, single = adapters.get(library, "bulk"), adapters.get(library, "single")
    assert bulk.training_metadata == single.training_metadata
    assert bulk.training_metadata is not None
    assert bulk.training_metadata["modelspec.thumbnail"].startswith("(not kept:")
    assert adapters.get(library, "plain").training_metadata == kohya_metadata()


def test_bulk_lookups_of_paths_and_names_use_the_live_unique_indexes(
    library: Library, lora_dir: Path
) -> None:
    """Without statistics SQLite answered them by walking every live row (slower as the
    library grows); each lookup must search the unique index of live paths or names."""
    from sqlalchemy import event

    for i in range(3):
        make_lora(lora_dir, f"f{i}.safetensors")
    registration.register_many(library, [lora_dir])
    lookups: list[tuple[str, tuple[object, ...]]] = []

    def record(_conn: object, _cursor: object, sql: str, params: object, *_rest: object) -> None:
        if sql.lstrip().upper().startswith("SELECT") and " IN (" in sql:
            lookups.append((sql, tuple(params)))  # type: ignore[arg-type]

    event.listen(library.db.engine, "before_cursor_execute", record)
    try:
        make_lora(lora_dir, "f9.safetensors")
        report = registration.register_many(library, [lora_dir])
    finally:
        event.remove(library.db.engine, "before_cursor_execute", record)

    assert (report.added, report.already_registered) == (1, 3)
    assert len(lookups) == 3  # paths before inspecting, paths and names under the write lock
    with library.db.engine.connect() as connection:
        plans = [
            " ".join(str(r[-1]) for r in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", p))
            for sql, p in lookups
        ]
    assert [p.count("USING INDEX uq_adapters_live_") for p in plans] == [1, 1, 1], plans


def test_bulk_registration_stores_every_column_as_one_by_one(
    library: Library, lora_dir: Path, tmp_path: Path
) -> None:
    """The bulk path encodes rows itself: each column must read back as ``register`` wrote it."""
    import json

    from sqlalchemy import text

    from lora_desktop.services.library import open_library
    from tests.inspect_files import kohya_metadata, write_safetensors
    from tests.unit.test_inspect_sidecars import png

    write_safetensors(lora_dir / "full.safetensors", kohya_metadata())
    (lora_dir / "full.civitai.info").write_text(
        json.dumps({"trainedWords": ["rdhr"], "model": {"name": "Civ"}, "files": []})
    )
    (lora_dir / "full.metadata.json").write_text(json.dumps({"tags": ["Style", "hair"]}))
    (lora_dir / "full.json").write_text(json.dumps({"preferred weight": 0.6, "notes": "n"}))
    png(lora_dir / "full.preview.png")
    write_safetensors(lora_dir / "plain.safetensors", None)
    (lora_dir / "empty.safetensors").touch()
    make_lora(lora_dir, "old.ckpt", b"\x80\x02}q\x00.")
    files = sorted(str(p) for p in lora_dir.iterdir() if p.suffix in {".safetensors", ".ckpt"})
    registration.register_many(library, [lora_dir])
    other = open_library(tmp_path / "one-by-one.sqlite3")
    try:
        for path in files:
            registration.register(other, {"file_path": path})
        rows = []
        details = []
        for lib in (library, other):
            with lib.db.engine.connect() as connection:
                result = connection.execute(text("SELECT * FROM adapters ORDER BY file_path"))
                rows.append([dict(r._mapping) for r in result])
                result = connection.execute(
                    text(
                        "SELECT a.file_path, d.training_metadata, d.sidecars, d.description"
                        " FROM adapters AS a"
                        " LEFT JOIN adapter_details AS d ON d.adapter_id = a.id"
                        " ORDER BY a.file_path"
                    )
                )
                details.append(  # decoded: the header's own text, SQL NULL or JSON null alike
                    [(r[0], r[1] and json.loads(r[1]), json.loads(r[2]), r[3]) for r in result]
                )
    finally:
        other.close()

    bulk, single = rows
    assert [r["file_path"] for r in bulk] == [r["file_path"] for r in single] == files
    json_columns = ("trigger_words", "dangerous_globals")
    assert details[0] == details[1]
    by_path = {path: rest for path, *rest in details[0]}
    metadata, sidecars, _description = by_path[str(lora_dir / "full.safetensors")]
    assert metadata  # kohya's, really stored
    assert sidecars["files"]  # the sidecars were really read
    for b, s in zip(bulk, single, strict=True):
        for column in ("id", "created_at", "updated_at", "inspected_at"):
            del b[column], s[column]  # per call
        for row in (b, s):
            row.update({c: row[c] and json.loads(row[c]) for c in (*json_columns, "edited_fields")})
        assert b == s
    full = next(r for r in bulk if r["file_path"].endswith("full.safetensors"))
    assert (full["weight"], full["notes"], full["preview_path"]) == (
        0.6,
        "n",
        str(lora_dir / "full.preview.png"),
    )
