"""Reading ahead for a hash run: within a memory budget, in the order files are hashed."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from lora_desktop.services.inspect.read_ahead import (
    LARGE_PREFIX,
    cached,
    read_ahead,
    read_ahead_batch,
)
from tests.page_cache import resident_pages as _resident_pages
from tests.page_cache import uncached as _uncached

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="as on Linux")


@linux_only
def test_a_large_file_is_read_ahead_to_its_end(tmp_path: Path) -> None:
    # The kernel reads only about 8 MiB for one "will need" over a whole file; a large
    # file read ahead must be in the cache, all of it.
    path = _uncached(tmp_path / "big.safetensors", 40 * 1024 * 1024)
    read_ahead(str(path))
    deadline = time.monotonic() + 20
    while not all(_resident_pages(path)):
        assert time.monotonic() < deadline, "the whole file was never read ahead"
        time.sleep(0.01)


def _wait_until(condition: object, what: str) -> None:
    deadline = time.monotonic() + 20
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


@linux_only
def test_a_cold_batch_is_read_ahead_with_its_sidecars(
    tmp_path: Path,
) -> None:
    small = [_uncached(tmp_path / f"s{i}.safetensors", 300_000) for i in range(3)]
    large = _uncached(tmp_path / "large.safetensors", 12 * 1024 * 1024)
    sidecars = [
        _uncached(tmp_path / "s0.civitai.info", 20_000),
        _uncached(tmp_path / "s1.preview.PNG", 50_000),
    ]
    unrelated = _uncached(tmp_path / "notes.txt", 20_000)
    assert cached(str(small[0])) is False
    assert read_ahead_batch([str(p) for p in [*small, large]])
    _wait_until(lambda: all(all(_resident_pages(p)) for p in small), "small files not read")
    _wait_until(lambda: all(all(_resident_pages(p)) for p in sidecars), "sidecars not read")
    assert not any(_resident_pages(unrelated))
    _wait_until(lambda: all(_resident_pages(large)[: LARGE_PREFIX // 4096]), "no prefix")
    pages = _resident_pages(large)
    assert not any(pages[len(pages) // 2 :])  # the rest is left to the hash pass
    assert cached(str(small[0])) is True


def test_a_warm_batch_costs_one_look(tmp_path: Path) -> None:
    path = tmp_path / "warm.safetensors"
    path.write_bytes(b"\x00" * 4096)
    path.read_bytes()
    assert not read_ahead_batch([str(path)])
    assert not read_ahead_batch([])
