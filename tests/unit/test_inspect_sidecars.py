"""Sidecars of other tools and preview images, with real files: formats, precedence, bad files."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import pytest

from lora_desktop.services.inspect.inspection import inspect_file
from lora_desktop.services.inspect.sidecars import read_sidecars
from tests.inspect_files import kohya_metadata, write_safetensors


def png(path: Path, width: int = 4, height: int = 4) -> Path:
    """A real PNG header (IHDR) with the given size."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = (
        struct.pack(">I", len(ihdr))
        + b"IHDR"
        + ihdr
        + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    )
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk)
    return path


def _lora(tmp_path: Path) -> Path:
    return write_safetensors(tmp_path / "RedHair.safetensors", kohya_metadata())


def test_all_four_formats_are_read(tmp_path: Path) -> None:
    lora = _lora(tmp_path)
    (tmp_path / "RedHair.civitai.info").write_text(
        json.dumps(
            {
                "trainedWords": ["rdhr, red hair"],
                "baseModel": "Pony",
                "model": {"name": "Red Hair Civitai"},
                "description": "<p>nice</p>",
                "files": [{"hashes": {"SHA256": "ABC", "AutoV2": "DEF"}}],
            }
        )
    )
    (tmp_path / "RedHair.metadata.json").write_text(
        json.dumps(
            {
                "model_name": "Manager name",
                "tags": ["Style", "hair"],
                "notes": "from manager",
                "usage_tips": json.dumps({"strength": 0.7}),
                "civitai": {"trainedWords": ["mgr"]},
            }
        )
    )
    (tmp_path / "RedHair.cm-info.json").write_text(
        json.dumps({"ModelName": "SM", "TrainedWords": ["sm"], "Hashes": {"BLAKE3": "x1"}})
    )
    (tmp_path / "RedHair.json").write_text(
        json.dumps({"activation text": "a1111 word", "preferred weight": 0, "sd version": "SDXL"})
    )
    found = inspect_file(str(lora))
    values = {k: v for k, (v, _s) in found.values.items()}
    sources = {k: s for k, (_v, s) in found.values.items()}
    assert values["trigger_words"] == ["a1111 word"]  # A1111 first
    assert sources["trigger_words"] == "a1111"
    assert values["base_model"] == "SDXL 1.0"  # A1111's sd version beats Civitai
    assert values["title"] == "Red Hair Civitai"  # civitai.info beats the other Civitai files
    assert values["weight"] == 0.7  # preferred weight 0 means "not set"
    assert values["tags"] == ["style", "hair"]
    assert values["notes"] == "from manager"
    assert found.sidecars.hashes == {"SHA256": "abc", "AutoV2": "def", "BLAKE3": "x1"}
    assert found.problems == []


def test_the_header_fills_what_no_sidecar_gives(tmp_path: Path) -> None:
    found = inspect_file(str(_lora(tmp_path)))
    assert found.values["title"] == ("redhair_v2", "header")
    assert found.values["base_model"] == ("SDXL 1.0", "header")
    assert "trigger_words" not in found.values  # candidates are only suggestions


def test_an_empty_civitai_info_means_not_found(tmp_path: Path) -> None:
    lora = _lora(tmp_path)
    (tmp_path / "RedHair.civitai.info").write_text("{}")
    found = read_sidecars(str(lora))
    assert found.civitai_not_found
    assert found.problems == []


@pytest.mark.parametrize("content", ["[]", "0", "false", '""'])
def test_a_civitai_info_that_is_another_json_value_is_not_a_not_found(
    tmp_path: Path, content: str
) -> None:
    lora = _lora(tmp_path)
    (tmp_path / "RedHair.civitai.info").write_text(content)
    found = read_sidecars(str(lora))
    assert not found.civitai_not_found
    assert found.problems == ["RedHair.civitai.info: not a JSON object; ignored"]


def test_a_garbage_civitai_info_is_a_clear_problem_and_the_rest_goes_on(tmp_path: Path) -> None:
    lora = _lora(tmp_path)
    (tmp_path / "RedHair.civitai.info").write_bytes(b"\x00\xffgarbage{{{")
    (tmp_path / "RedHair.json").write_text(json.dumps({"activation text": "word"}))
    found = inspect_file(str(lora))
    assert found.problems == ["RedHair.civitai.info: not valid JSON; ignored"]
    assert found.values["trigger_words"] == (["word"], "a1111")


def test_a_50_mb_civitai_info_is_not_read(tmp_path: Path) -> None:
    lora = _lora(tmp_path)
    with (tmp_path / "RedHair.civitai.info").open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)  # sparse: quick to make
    found = read_sidecars(str(lora))
    assert found.problems == ["RedHair.civitai.info: too large (50 MiB); not read"]
    assert found.values == {}


def test_previews_are_found_case_insensitively_in_order(tmp_path: Path) -> None:
    lora = _lora(tmp_path)
    png(tmp_path / "redhair.PNG")
    png(tmp_path / "RedHair.Preview.png")
    assert read_sidecars(str(lora)).preview == str(tmp_path / "RedHair.Preview.png")


def test_a_preview_that_is_not_an_image_is_skipped_for_the_next(tmp_path: Path) -> None:
    lora = _lora(tmp_path)
    (tmp_path / "RedHair.preview.png").write_text("not an image")
    png(tmp_path / "RedHair.jpg")  # a PNG named .jpg is still an image
    found = read_sidecars(str(lora))
    assert found.preview == str(tmp_path / "RedHair.jpg")
    assert found.problems == ["RedHair.preview.png: not a PNG, JPEG or WebP image"]


def test_a_20000_pixel_square_png_is_refused_before_decoding(tmp_path: Path) -> None:
    lora = _lora(tmp_path)
    png(tmp_path / "RedHair.png", 20_000, 20_000)
    found = read_sidecars(str(lora))
    assert found.preview is None
    assert found.problems == [
        "RedHair.png: the image is too large to show (20,000 × 20,000 pixels)"
    ]


def test_a_url_thumbnail_is_never_kept_or_fetched(tmp_path: Path) -> None:
    lora = write_safetensors(
        tmp_path / "t.safetensors", {"modelspec.thumbnail": "http://127.0.0.1:9/evil.png"}
    )
    found = inspect_file(str(lora))
    assert found.metadata is not None
    assert found.metadata["modelspec.thumbnail"].startswith("(not kept")


def test_the_folder_index_finds_names_for_every_stem_they_fit(tmp_path: Path) -> None:
    """``a.metadata.json`` is the Lora-Manager file of ``a``, the A1111 one of ``a.metadata``."""
    from lora_desktop.services.inspect.sidecars import folder_listing, sidecar_paths

    for name in ("a.safetensors", "a.metadata.safetensors", "a.metadata.json", "A.Preview.PNG"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "other.json").write_bytes(b"")
    index = folder_listing(str(tmp_path))

    assert sidecar_paths(str(tmp_path / "a.safetensors"), index) == {
        "metadata.json": str(tmp_path / "a.metadata.json"),
        "preview.preview.png": str(tmp_path / "A.Preview.PNG"),
    }
    assert sidecar_paths(str(tmp_path / "a.metadata.safetensors"), index) == {
        "a1111": str(tmp_path / "a.metadata.json")
    }
    assert sidecar_paths(str(tmp_path / "A.PREVIEW.safetensors"), index) == {
        "preview.png": str(tmp_path / "A.Preview.PNG")
    }
    assert sidecar_paths(str(tmp_path / "b.safetensors"), index) == {}
