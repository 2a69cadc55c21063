"""CLI deliveries with real programs: the prompt byte for byte, timeouts, output caps, no shell."""

from __future__ import annotations

import os
import select
import sys
import textwrap
from pathlib import Path

import pytest

from lora_desktop.services import deliveries
from lora_desktop.services.library import Library
from lora_desktop.services.runners.cli import OUTPUT_CAP

NASTY_PROMPT = "masterprompt \"quoted\" 'single' $(touch pwned) `id`; rm -rf /tmp/x && \\\n\tü 🐱\n"


def _program(tmp_path: Path, name: str, body: str) -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return str(path)


def _run(lib: Library, argv: list[str], prompt: str = "p", **request: object):
    job = deliveries.enqueue(lib, {"mode": "cli", "argv": argv, "prompt": prompt, **request})
    return deliveries.run_job(lib, job.id)


def test_the_prompt_reaches_the_program_byte_for_byte(
    library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    copy = tmp_path / "received.txt"
    program = _program(
        tmp_path,
        "receive.py",
        """
        import os, shutil, stat, sys
        shutil.copyfile(sys.argv[1], sys.argv[2])
        print(oct(stat.S_IMODE(os.stat(sys.argv[1]).st_mode)), sys.argv[1])
        print("argv3=" + repr(sys.argv[3]))
        """,
    )

    job = _run(
        library,
        [sys.executable, program, "{prompt_file}", str(copy), "{prompt}"],
        prompt=NASTY_PROMPT,
    )

    assert job.status == "succeeded", job.error
    assert job.result is not None
    assert job.result["exit_code"] == 0
    assert copy.read_bytes() == NASTY_PROMPT.encode("utf-8")  # nothing added, nothing lost
    mode, prompt_path = job.result["stdout"].splitlines()[0].split(" ", 1)
    assert mode == "0o600"  # only the user may read the prompt
    assert not Path(prompt_path).exists()  # and it is gone afterwards
    assert f"argv3={NASTY_PROMPT!r}" in job.result["stdout"]
    assert not (tmp_path / "pwned").exists()  # no shell ever ran it
    assert job.result["stdout_truncated"] is False


def test_a_failing_program_keeps_its_exit_code_and_output(library: Library, tmp_path: Path) -> None:
    program = _program(
        tmp_path,
        "fail.py",
        """
        import sys
        print("partial"); print("oops", file=sys.stderr); sys.exit(3)
        """,
    )
    job = _run(library, [sys.executable, program], max_attempts=3)
    assert (job.status, job.attempts) == ("failed", 1)
    assert job.error is not None
    assert "exited with status 3" in job.error
    assert job.result is not None
    assert (job.result["exit_code"], job.result["stdout"], job.result["stderr"]) == (
        3,
        "partial\n",
        "oops\n",
    )


def _dead(pid: int) -> bool:
    """True once ``pid`` has exited (zombie or reaped), waiting on a pidfd, never sleeping."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        readable, _, _ = select.select([fd], [], [], 10)
        return bool(readable)
    finally:
        os.close(fd)


def test_a_hanging_program_and_its_children_are_killed_at_the_timeout(
    library: Library, tmp_path: Path
) -> None:
    pid_file = tmp_path / "grandchild.pid"
    program = _program(
        tmp_path,
        "hang.py",
        f"""
        import subprocess, sys, time
        child = subprocess.Popen(["sleep", "600"])
        open({str(pid_file)!r}, "w").write(str(child.pid))
        print("started", flush=True)
        time.sleep(600)
        """,
    )

    job = _run(library, [sys.executable, program], timeout=1.5, max_attempts=3)

    assert (job.status, job.attempts) == ("failed", 1)
    assert "did not finish within 1.5 s; killed" in (job.error or "")
    assert job.result is not None
    assert job.result["stdout"] == "started\n"  # output before the kill is kept
    grandchild = int(pid_file.read_text())
    assert _dead(grandchild)


def test_huge_output_is_capped_and_flagged(library: Library, tmp_path: Path) -> None:
    program = _program(
        tmp_path,
        "loud.py",
        """
        import sys
        sys.stdout.write("x" * (10 * 1024 * 1024) + "END")
        sys.stderr.write("short")
        """,
    )

    job = _run(library, [sys.executable, program])

    assert job.status == "succeeded"
    assert job.result is not None
    assert len(job.result["stdout"]) == OUTPUT_CAP == 64 * 1024
    assert job.result["stdout"].endswith("END")  # the tail is what explains a failure
    assert job.result["stdout_truncated"] is True
    assert (job.result["stderr"], job.result["stderr_truncated"]) == ("short", False)


def test_a_missing_program_fails_with_a_clear_message(library: Library, tmp_path: Path) -> None:
    missing = str(tmp_path / "no-such-program")
    job = _run(library, [missing, "{prompt_file}"], max_attempts=3)
    assert (job.status, job.attempts) == ("failed", 1)
    assert job.error == f"program not found: {missing}; check the command"


def test_a_program_that_is_not_executable(library: Library, tmp_path: Path) -> None:
    script = tmp_path / "script.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o644)
    # Even root cannot execute a file without any x bit.
    job = _run(library, [str(script)])
    assert job.status == "failed"
    assert "not executable" in (job.error or "")


def test_the_working_folder_is_used(library: Library, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    program = _program(tmp_path, "cwd.py", "import os\nprint(os.getcwd())\n")
    job = _run(library, [sys.executable, program], cwd=str(work))
    assert job.result is not None
    assert job.result["stdout"] == f"{work}\n"
