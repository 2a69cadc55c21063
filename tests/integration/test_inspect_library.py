"""File inspection through the services, with real files and a real library."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import pytest

from lora_desktop.services import adapters, registration
from lora_desktop.services.errors import Conflict
from lora_desktop.services.inspect.apply import inspect_adapter
from lora_desktop.services.inspect.hash_service import hash_adapter, hash_pending
from lora_desktop.services.inspect.library_scan import find_duplicates, rescan, scan_path
from lora_desktop.services.library import ChangeSet, Library
from tests.inspect_files import kohya_metadata, raw_file, write_safetensors


def test_register_many_fills_rows_from_headers_and_goes_on_past_bad_files(
    library: Library, lora_dir: Path
) -> None:
    write_safetensors(lora_dir / "good.safetensors", kohya_metadata())
    (lora_dir / "empty.safetensors").touch()
    raw_file(lora_dir / "huge.safetensors", 2**63, b"{}")
    os.mkfifo(lora_dir / "x.safetensors")
    (lora_dir / "good.civitai.info").write_text("garbage")

    report = registration.register_many(library, [lora_dir])

    by_name = {Path(e.path).name: e for e in report.entries}
    assert by_name["x.safetensors"].outcome == "skipped"
    assert by_name["x.safetensors"].reason is not None
    assert "not a regular file" in by_name["x.safetensors"].reason
    assert by_name["empty.safetensors"].problem == "empty file (0 bytes)"
    assert "header claims 9,223,372,036,854,775,808 bytes" in str(
        by_name["huge.safetensors"].problem
    )
    assert by_name["good.safetensors"].problem == "good.civitai.info: not valid JSON; ignored"
    good = adapters.get(library, "good")
    assert (good.title, good.base_model, good.network_dim, good.resolution) == (
        "redhair_v2",
        "SDXL 1.0",
        32,
        "1024x1024",
    )
    assert good.metadata_indexed
    assert good.training_metadata is not None
    assert good.training_metadata["ss_network_module"] == "networks.lora"
    assert good.trigger_candidates == []  # suggestions come with the hash pass
    hash_pending(library)
    good = adapters.get(library, "good")
    assert [c.word for c in good.trigger_candidates][:2] == ["ohwx woman", "ohwx"]
    assert good.trigger_words == []  # suggestions are never applied on their own
    empty = adapters.get(library, "empty")
    assert (empty.incomplete, empty.inspect_error) == (True, "empty file (0 bytes)")
    assert adapters.list_adapters(library, {"base_model": "sdxl 1.0"}).total == 1


def test_a_file_that_disappears_between_listing_and_reading_is_skipped(
    library: Library, lora_dir: Path
) -> None:
    write_safetensors(lora_dir / "stays.safetensors", {})
    gone = write_safetensors(lora_dir / "gone.safetensors", {})

    report = registration.register_many(
        library, [lora_dir], progress=lambda done, _total: done == 0 and gone.unlink()
    )

    outcome = {Path(e.path).name: (e.outcome, e.reason) for e in report.entries}
    assert outcome["gone.safetensors"][0] == "skipped"
    assert "does not exist" in str(outcome["gone.safetensors"][1])
    assert outcome["stays.safetensors"] == ("added", None)


def test_hashes_arrive_later_and_duplicates_are_found(library: Library, lora_dir: Path) -> None:
    a = write_safetensors(lora_dir / "a.safetensors", {"ss_output_name": "a"})
    b = lora_dir / "b.safetensors"
    b.write_bytes(a.read_bytes())
    write_safetensors(lora_dir / "c.safetensors", {"ss_output_name": "other metadata"})
    registration.register_many(library, [lora_dir])
    assert adapters.get(library, "a").sha256 is None  # rows first, hashes later
    changes: list[ChangeSet] = []
    library.subscribe(changes.append)
    seen: list[tuple[int, int]] = []

    report = hash_pending(library, progress=lambda f, ft, _b, _bt: seen.append((f, ft)), workers=2)

    assert (report.hashed, report.failed, report.stopped) == (3, [], False)
    assert seen[-1] == (3, 3)
    assert [len(c.updated) for c in changes] == [3]
    groups = find_duplicates(library)
    assert [(g.kind, g.names) for g in groups] == [
        ("same_file", ["a", "b"]),
        ("same_weights", ["a", "b", "c"]),
    ]
    assert adapters.get(library, "a").autov3 == groups[1].hash
    assert hash_pending(library).hashed == 0  # nothing pending any more


def test_broken_headers_are_not_grouped_as_the_same_weights(
    library: Library, lora_dir: Path
) -> None:
    # Two unrelated files whose "headers" are not JSON objects: nothing follows either
    # header, whose weights' SHA-256 would be that of no bytes for both.
    raw_file(lora_dir / "list.safetensors", 4, b"[1] ")
    raw_file(lora_dir / "text.safetensors", 8, b'"hello" ')
    registration.register_many(library, [lora_dir])

    report = hash_pending(library)

    assert (report.hashed, report.failed) == (2, [])
    for name in ("list", "text"):
        adapter = adapters.get(library, name)
        assert adapter.sha256 is not None
        assert adapter.autov3 is None
        assert adapter.inspect_error
    assert find_duplicates(library) == []


def test_rescan_reads_no_unchanged_file_and_reinspects_changed_ones(
    library: Library, lora_dir: Path
) -> None:
    one = write_safetensors(lora_dir / "one.safetensors", {"ss_output_name": "first"})
    two = write_safetensors(lora_dir / "two.safetensors", {})
    registration.register_many(library, [lora_dir])
    hash_pending(library)
    write_safetensors(one, {"ss_output_name": "second"})
    os.utime(one, (1, 1))
    two.unlink()

    report = rescan(library)

    first = adapters.get(library, "one")
    assert (report.reinspected, report.unchanged) == ([first.id], 0)
    assert first.title == "second"
    assert adapters.get(library, "two").file_status == "missing"
    assert hash_pending(library).hashed == 1  # the changed file is hashed again


def test_sidecars_never_overwrite_what_the_artist_edited(library: Library, lora_dir: Path) -> None:
    lora = write_safetensors(lora_dir / "s.safetensors", {})
    sidecar = lora_dir / "s.json"
    sidecar.write_text(json.dumps({"activation text": "from file", "notes": "file notes"}))
    created = registration.register(library, {"file_path": str(lora)})
    assert (created.trigger_words, created.notes) == (["from file"], "file notes")

    adapters.update_adapter(library, created.id, {"trigger_words": ["mine"], "notes": "file notes"})
    sidecar.write_text(json.dumps({"activation text": "changed", "notes": "changed notes"}))
    again = inspect_adapter(library, created.id)

    assert again.edited_fields == ["trigger_words"]  # notes were sent unchanged: not an edit
    assert (again.trigger_words, again.notes) == (["mine"], "changed notes")
    forced = scan_path(library, str(lora_dir), reimport=True)
    assert [(a.trigger_words, a.edited_fields) for a in forced] == [(["changed"], [])]


def test_a_dangerous_pickle_needs_confirmation_to_activate(
    library: Library, lora_dir: Path
) -> None:
    class Payload:
        def __reduce__(self) -> tuple[object, ...]:
            return (os.system, ("true",))

    path = lora_dir / "evil.pt"
    path.write_bytes(pickle.dumps(Payload()))
    evil = registration.register(library, {"file_path": str(path)})
    assert (evil.dangerous, evil.dangerous_globals) == (True, ["posix.system"])

    with pytest.raises(Conflict) as caught:
        adapters.activate(library, evil.id)
    assert caught.value.field_errors() == {
        "confirm_dangerous": "this adapter is dangerous; confirm first"
    }
    with pytest.raises(Conflict):
        adapters.update_adapter(library, evil.id, {"active": True})
    assert not adapters.get(library, evil.id).active

    assert adapters.activate(library, evil.id, confirm_dangerous=True).active
    assert hash_adapter(library, evil.id).sha256 is not None


def test_bulk_registration_leaves_suggestions_and_their_problems_to_the_hash_pass(
    library: Library, lora_dir: Path
) -> None:
    write_safetensors(lora_dir / "odd.safetensors", kohya_metadata(ss_tag_frequency="{oops"))
    registration.register_many(library, [lora_dir])
    odd = adapters.get(library, "odd")
    assert (odd.trigger_candidates, odd.inspect_error) == ([], None)
    hash_pending(library)
    odd = adapters.get(library, "odd")
    assert [c.word for c in odd.trigger_candidates][:2] == ["ohwx woman", "ohwx"]
    assert odd.inspect_error == "ss_tag_frequency is not valid JSON; ignored"
    hash_pending(library)  # nothing pending: nothing repeated
    assert adapters.get(library, "odd").inspect_error == odd.inspect_error
