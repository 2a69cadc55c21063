"""Table checks in a helper process: the same verdicts, and never a wrong one.

Whatever happens to the child (it cannot start, is killed, answers garbage, hits
a bug), the check runs in this process instead and the artist sees the verdict
``check_table`` gives.
"""

from __future__ import annotations

import io
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lora_desktop.services import adapters, registration
from lora_desktop.services.adapters import list_rows
from lora_desktop.services.inspect import hash_service, table_worker
from lora_desktop.services.inspect.header_json import HeaderError
from lora_desktop.services.inspect.table_worker import TableWorker, TableWorkers, serve
from lora_desktop.services.inspect.tensor_table import check_table
from lora_desktop.services.library import Library
from tests.inspect_files import header_bytes, kohya_metadata, raw_file, write_safetensors
from tests.unit.test_inspect_tensor_table import GOOD, INCOMPLETE, REFUSED

CASES = {
    **{f"refused: {k}": (raw, size) for k, (raw, size, _m) in REFUSED.items()},
    **{f"incomplete: {k}": (raw, size) for k, (raw, size, _m) in INCOMPLETE.items()},
    **{f"good: {k}": (raw, size) for k, (raw, size, _n) in GOOD.items()},
}


def _verdict(check: object, raw: bytes, size: int) -> tuple[object, ...]:
    try:
        found = check(raw, size)  # type: ignore[operator]
    except HeaderError as exc:
        return ("refused", exc.message)
    return ("checked", found.tensors, found.incomplete)


@pytest.fixture
def worker() -> Iterator[TableWorker]:
    started = TableWorker()
    assert started.start()
    yield started
    started.close()


def test_the_child_gives_every_verdict_the_check_gives_here(worker: TableWorker) -> None:
    for name, (raw, size) in CASES.items():
        assert _verdict(worker.check, raw, size) == _verdict(check_table, raw, size), name
    assert not worker.failed  # every answer came from the child
    assert worker.process is not None
    assert worker.process.poll() is None


def test_a_killed_child_hands_the_checks_back(worker: TableWorker) -> None:
    raw, size = GOOD["spaced, metadata first"][:2]
    assert worker.check(raw, size).tensors == 2
    process = worker.process
    assert process is not None
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    bad, bad_size = REFUSED["a tensor name twice"][:2]
    assert _verdict(worker.check, bad, bad_size) == _verdict(check_table, bad, bad_size)
    assert worker.failed
    assert worker.check(raw, size).tensors == 2


def test_a_child_that_cannot_start_leaves_the_checks_here(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-such-python"))
    lonely = TableWorker()
    assert not lonely.start()
    raw, size = INCOMPLETE["a gap"][:2]
    assert lonely.check(raw, size).incomplete == "the tensor data has a gap at byte 8"
    lonely.close()


def test_a_child_answering_garbage_is_not_believed() -> None:
    liar = TableWorker(
        [sys.executable, "-c", "import sys; sys.stdin.buffer.read(16); print('x' * 64)"]
    )
    assert liar.start()
    raw, size = REFUSED["an unknown dtype"][:2]
    with pytest.raises(HeaderError, match="unknown dtype 'F17'"):
        liar.check(raw, size)
    assert liar.failed
    liar.close()
    assert liar.process is None


def test_a_bug_in_the_child_is_seen_here(monkeypatch: pytest.MonkeyPatch) -> None:
    raw, size = GOOD["compact"][:2]
    request = table_worker._REQUEST.pack(len(raw), size) + raw
    answers = io.BytesIO()

    def broken(_raw: bytes, _size: int) -> object:
        raise RuntimeError("a bug")

    monkeypatch.setattr(table_worker, "check_table", broken)
    serve(io.BytesIO(request * 2), answers)
    body = answers.getvalue()
    (length,) = table_worker._REPLY.unpack(body[:4])
    assert body[4 : 4 + length] == b'{"crash": "RuntimeError(\'a bug\')"}'
    assert len(body) == 2 * (4 + length)  # it went on to the next request


def test_a_hash_run_checks_its_tables_in_helper_processes(
    library: Library, lora_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    count = hash_service.WORKER_MIN_TABLES + 4
    for i in range(count):
        write_safetensors(lora_dir / f"good{i:02}.safetensors", kohya_metadata())
    raw, size = INCOMPLETE["data cut short"][:2]
    raw_file(lora_dir / "cut.safetensors", len(raw), raw + bytes(size))
    raw, size = REFUSED["a tensor name twice"][:2]
    raw_file(lora_dir / "twice.safetensors", len(raw), raw + bytes(size))
    registration.register_many(library, [lora_dir])
    children: list[TableWorkers] = []
    checks: list[int] = []
    real_start, real_check = TableWorkers.start, TableWorkers.check

    def start(self: TableWorkers) -> None:
        children.append(self)
        real_start(self)

    def check(self: TableWorkers, raw: bytes, size: int) -> object:
        checks.append(size)
        return real_check(self, raw, size)

    monkeypatch.setattr(TableWorkers, "start", start)
    monkeypatch.setattr(TableWorkers, "check", check)

    report = hash_service.hash_pending(library)

    assert (report.hashed, report.incomplete, report.failed) == (count + 1, 1, [])
    assert len(children) == 1
    assert len(checks) == count + 2
    assert all(w.process is None for w in children[0]._all)  # ended with the run
    rows = {r.name: r for r in list_rows(library)}
    assert rows["cut"].incomplete
    assert rows["cut"].sha256 is None
    twice = adapters.get(library, "twice")
    assert twice.sha256 is not None
    assert "header repeats the key 'w'" in (twice.inspect_error or "")
    assert all(rows[f"good{i:02}"].sha256 for i in range(count))


def test_a_child_that_never_answers_is_given_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(table_worker, "ANSWER_TIMEOUT_S", 0.5)
    stuck = TableWorker([sys.executable, "-c", "import time; time.sleep(120)"])
    assert stuck.start()
    # Bigger than a pipe holds, so the write itself would block on a child that never reads.
    raw, size = header_bytes({f"t{i}": ("F16", [2]) for i in range(4000)}, kohya_metadata())
    assert len(raw) > 128 * 1024
    started = time.monotonic()
    assert stuck.check(raw, size).tensors == 4000  # checked here instead
    assert time.monotonic() - started < 10
    assert stuck.failed
    process = stuck.process
    stuck.close()
    assert process is not None
    assert process.poll() is not None  # the stuck child was ended
