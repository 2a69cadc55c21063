"""The command line end to end, in subprocesses on a temporary library: JSON shapes, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ScriptedServer, make_lora

ADAPTER_KEYS = {
    "id",
    "name",
    "version",
    "tags",
    "trigger_words",
    "file_path",
    "weight",
    "active",
    "ordinal",
    "archetype",
    "archetype_confidence",
    "notes",
    "sha256",
    "file_size",
    "file_status",
    "created_at",
    "updated_at",
    "deleted_at",
    # File inspection (issue 4), see contract.md "File inspection".
    *("title", "description", "base_model", "network_module", "network_dim", "network_alpha"),
    *("resolution", "trigger_phrase", "trigger_candidates", "training_metadata"),
    *("metadata_indexed", "header_size", "autov2", "sha256_weights", "autov3", "hashed_at"),
    *("inspected_at", "inspect_error", "incomplete", "dangerous", "dangerous_globals"),
    *("preview_path", "sidecars", "edited_fields"),
}
JOB_KEYS = {
    "id",
    "prompt",
    "mode",
    "params",
    "status",
    "result",
    "error",
    "attempts",
    "created_at",
    "started_at",
    "finished_at",
}


class Cli:
    """Runs ``python -m lora_desktop --database DB ...`` and decodes what it prints."""

    def __init__(self, db: Path) -> None:
        self.db = db

    def run(
        self, *args: str, database: bool = True, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        prefix = ["--database", str(self.db)] if database else []
        result = subprocess.run(
            [sys.executable, "-m", "lora_desktop", *prefix, *args],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, **(env or {})},
            check=False,
        )
        assert "Traceback" not in result.stderr, result.stderr
        return result

    def ok(self, *args: str) -> Any:
        """Run with ``--json``; expect exit 0 and return the decoded stdout."""
        result = self.run("--json", *args)  # before the command: after it, "--" would eat it
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def problem(self, *args: str, status: int = 1) -> dict[str, Any]:
        """Run with ``--json``; expect a domain error and return its problem details."""
        result = self.run("--json", *args)
        assert result.returncode == status, (result.stdout, result.stderr)
        assert result.stdout == ""
        problem = json.loads(result.stderr)
        assert (
            {"type", "title", "detail"}
            <= set(problem)
            <= {
                "type",
                "title",
                "detail",
                "invalid_params",
            }
        )
        assert problem["type"].startswith("urn:lora-desktop:problem:")
        return problem


def _fields(problem: dict[str, Any]) -> list[str]:
    return [p["name"] for p in problem.get("invalid_params", [])]


def _utc(value: str) -> bool:
    return datetime.fromisoformat(value).utcoffset() == timedelta(0)


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path / "cli" / "library.sqlite3")


def test_add_list_show_edit_and_compose(cli: Cli, lora_dir: Path) -> None:
    foo = make_lora(lora_dir, "foo.safetensors")
    bar = make_lora(lora_dir, "bar.safetensors")

    added = cli.ok("add", str(foo), "--tag", " Style ", "--weight", "0.75", "--active")
    assert set(added) == ADAPTER_KEYS
    assert (added["name"], added["tags"], added["weight"], added["active"]) == (
        "foo",
        ["style"],
        0.75,
        True,
    )
    assert added["ordinal"] is None
    assert _utc(added["created_at"])
    # --database and --json also work after the command.
    result = subprocess.run(
        [
            *(sys.executable, "-m", "lora_desktop", "add", str(bar), "--weight", "0.5"),
            *("--database", str(cli.db), "--json"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    bar_id = json.loads(result.stdout)["id"]

    page = cli.ok("list")
    assert set(page) == {"items", "total", "limit", "offset"}
    assert (page["total"], page["limit"], page["offset"]) == (2, 50, 0)
    assert [set(item) for item in page["items"]] == [ADAPTER_KEYS, ADAPTER_KEYS]
    filtered = cli.ok(
        "list", "--inactive", "--search", "BA", "--limit", "1", "--offset", "0", "--order-by",
        "-name",
    )  # fmt: skip
    assert ([i["name"] for i in filtered["items"]], filtered["total"]) == (["bar"], 1)
    assert [i["name"] for i in cli.ok("list", "--active", "--tag", "STYLE")["items"]] == ["foo"]

    assert cli.ok("show", bar_id)["name"] == "bar"
    edited = cli.ok("edit", "bar", "--ordinal", "1", "--version", "v2", "--archetype", "style")
    assert (edited["ordinal"], edited["version"], edited["archetype"]) == (1, "v2", "style")
    cli.ok("activate", "bar")
    assert cli.ok("activate", "foo", "--ordinal", "0")["ordinal"] == 0

    composed = cli.ok("compose", "--prefix", "masterprompt")
    assert composed == {
        "prompt": "masterprompt <lora:foo:0.75> <lora:bar:0.5>",
        "tokens": ["<lora:foo:0.75>", "<lora:bar:0.5>"],
        "warnings": [],
        "delivery": None,
    }
    custom = cli.ok("compose", "--format", "({name}:{weight})", "--no-trigger-words")
    assert custom["prompt"] == "(foo:0.75) (bar:0.5)"
    plain = cli.run("compose", "--prefix", "masterprompt", "--suffix", "best")
    assert (plain.returncode, plain.stdout) == (
        0,
        "masterprompt <lora:foo:0.75> <lora:bar:0.5> best\n",
    )

    health = cli.ok("health")
    assert set(health) == {
        "status",
        "version",
        "database",
        "schema_revision",
        "adapters",
        "active",
        "missing",
        "deleted",
        "pending_jobs",
    }
    assert (health["status"], health["adapters"], health["active"]) == ("ok", 2, 2)
    assert health["database"] == f"sqlite:///{cli.db}"


def test_activate_deactivate_reorder_rm_and_restore(cli: Cli, lora_dir: Path) -> None:
    for name in ("a", "b", "c"):
        make_lora(lora_dir, f"{name}.safetensors")
    report = cli.ok("add", str(lora_dir), "--active")
    assert report["added"] == 3

    ordered = cli.ok("reorder", "c", "a")
    assert [(i["name"], i["ordinal"]) for i in ordered] == [("c", 0), ("a", 1)]
    assert cli.ok("compose")["tokens"] == ["<lora:c:1>", "<lora:a:1>", "<lora:b:1>"]
    assert _fields(cli.problem("reorder", "a", "a")) == ["ids"]
    assert cli.problem("reorder", "a", "zzz")["type"].endswith(":not-found")

    off = cli.ok("deactivate", "c")
    assert (off["active"], off["ordinal"]) == (False, 0)
    again = cli.ok("deactivate", "c")
    assert again["updated_at"] == off["updated_at"]  # idempotent

    removed = cli.ok("rm", "a")
    assert removed["deleted_at"] is not None
    assert cli.problem("show", "a")["title"] == "Not found"
    assert cli.ok("show", removed["id"])["deleted_at"] is not None  # by id it is still there
    assert cli.ok("list")["total"] == 2
    assert cli.ok("list", "--deleted")["total"] == 3
    restored = cli.ok("restore", removed["id"])
    assert (restored["name"], restored["deleted_at"]) == ("a", None)
    assert cli.ok("compose")["tokens"] == ["<lora:a:1>", "<lora:b:1>"]


def test_add_reports_and_file_problems(cli: Cli, lora_dir: Path, tmp_path: Path) -> None:
    make_lora(lora_dir, "one.safetensors")
    make_lora(lora_dir, "sub/two.pt")
    make_lora(lora_dir, "readme.txt")
    stray = make_lora(tmp_path, "stray.txt")

    report = cli.ok("add", str(lora_dir), str(stray), str(tmp_path / "gone.safetensors"))
    assert set(report) == {"entries", "added", "already_registered", "skipped"}
    assert (report["added"], report["already_registered"], report["skipped"]) == (2, 0, 2)
    skipped = {Path(e["path"]).name: e["reason"] for e in report["entries"] if e["reason"]}
    assert "not a LoRA file" in skipped["stray.txt"]
    assert "does not exist" in skipped["gone.safetensors"]
    assert all(
        set(e) == {"path", "outcome", "reason", "adapter_id", "problem"} for e in report["entries"]
    )

    again = cli.run("add", str(lora_dir))  # readable text: every path that was not added
    assert again.returncode == 0
    assert "already registered: " in again.stdout
    assert again.stdout.strip().endswith("0 added, 2 already registered, 0 skipped")

    # A single file that can't be registered exits 1 with the problem, naming the field.
    assert _fields(cli.problem("add", str(tmp_path / "gone.safetensors"))) == ["file_path"]
    assert cli.problem("add", str(stray))["type"].endswith(":file-problem")
    conflict = cli.problem("add", str(lora_dir / "one.safetensors"))
    assert (conflict["title"], _fields(conflict)) == ("Conflict", ["file_path"])
    assert _fields(cli.problem("add", str(lora_dir), "--name", "x")) == ["name"]
    bad = make_lora(tmp_path, "bad.safetensors")
    assert _fields(cli.problem("add", str(bad), "--name", "a:b")) == ["name"]
    assert cli.ok("health")["adapters"] == 2  # nothing was added by the failures


def test_domain_errors_exit_1_with_their_field(cli: Cli, lora_dir: Path) -> None:
    cli.ok("add", str(make_lora(lora_dir, "foo.safetensors")))
    cli.ok("add", str(make_lora(lora_dir, "bar.safetensors")))
    before = cli.ok("show", "foo")

    assert _fields(cli.problem("edit", "foo", "--weight", "inf")) == ["weight"]
    assert _fields(cli.problem("edit", "foo", "--archetype-confidence", "1.5")) == [
        "archetype_confidence"
    ]
    assert _fields(cli.problem("edit", "foo", "--name", "")) == ["name"]
    assert _fields(cli.problem("edit", "foo", "--name", "bar")) == ["name"]  # conflict
    assert _fields(cli.problem("list", "--limit", "0")) == ["limit"]
    assert _fields(cli.problem("list", "--offset", "-1")) == ["offset"]
    assert _fields(cli.problem("compose", "--format", "<lora:{weight}>")) == ["template"]
    assert cli.problem("show", "nope")["type"] == "urn:lora-desktop:problem:not-found"
    assert cli.ok("show", "foo") == before  # nothing changed

    text = cli.run("show", "nope")  # without --json: one readable line
    assert (text.returncode, text.stdout) == (1, "")
    assert text.stderr == "lora-desktop: Not found: no adapter with id or name 'nope'\n"


@pytest.mark.parametrize(
    "args",
    [
        ["list", "--no-such-option"],
        ["show"],
        ["list", "--limit", "many"],
        ["frobnicate"],
        ["deliver", "--mode", "smoke"],
    ],
)
def test_usage_errors_exit_2(cli: Cli, args: list[str]) -> None:
    result = cli.run(*args)
    assert result.returncode == 2
    assert "usage:" in result.stderr
    assert not cli.db.exists()  # a usage error never opens the library


def test_an_unusable_database_exits_1(tmp_path: Path) -> None:
    folder = Cli(tmp_path)
    problem = folder.problem("health")
    assert problem["title"] == "Database path is a folder"
    newer = tmp_path / "newer.db"
    Cli(newer).ok("health")
    import sqlite3

    with sqlite3.connect(newer) as raw:
        raw.execute("UPDATE alembic_version SET version_num = '9999'")
    raw.close()
    assert Cli(newer).problem("list")["title"] == "Library is newer than this app"


def test_the_library_location_from_the_environment(cli: Cli, tmp_path: Path) -> None:
    ours, generic = tmp_path / "ours.db", tmp_path / "generic.db"
    env = {"LORA_DESKTOP_DATABASE": str(ours), "DATABASE_URL": f"sqlite:///{generic}"}
    both = cli.run("health", "--json", database=False, env=env)
    assert json.loads(both.stdout)["database"] == f"sqlite:///{ours}"
    only_url = cli.run("health", "--json", database=False, env={"DATABASE_URL": str(generic)})
    assert json.loads(only_url.stdout)["database"] == f"sqlite:///{generic}"
    option = cli.run("health", "--json", env=env)  # --database wins over both
    assert json.loads(option.stdout)["database"] == f"sqlite:///{cli.db}"
    default = cli.run("health", "--json", database=False)
    data_home = Path(os.environ["XDG_DATA_HOME"])
    assert json.loads(default.stdout)["database"] == (
        f"sqlite:///{data_home / 'lora-desktop' / 'library.sqlite3'}"
    )


def test_deliver_cli_and_jobs(cli: Cli, lora_dir: Path, tmp_path: Path) -> None:
    cli.ok("add", str(make_lora(lora_dir, "foo.safetensors")), "--weight", "0.75", "--active")
    received = tmp_path / "received.txt"
    program = tmp_path / "receive.py"
    program.write_text(
        "import shutil, sys\nshutil.copyfile(sys.argv[1], sys.argv[2])\nprint('ok')\n"
    )

    job = cli.ok(
        "deliver", "--mode", "cli", "--", sys.executable, str(program), "{prompt_file}",
        str(received),
    )  # fmt: skip
    assert set(job) == JOB_KEYS
    assert (job["status"], job["mode"], job["attempts"]) == ("succeeded", "cli", 1)
    assert job["prompt"] == "<lora:foo:0.75>"  # the composed prompt by default
    assert job["params"]["metadata"] == {
        "adapters": [{"name": "foo", "weight": 0.75, "sha256": None}]
    }
    assert received.read_text(encoding="utf-8") == "<lora:foo:0.75>"
    assert job["result"]["exit_code"] == 0
    assert job["result"]["stdout"] == "ok\n"

    prompt = 'say "hi"; $(whoami)\nline two'
    cli.ok(
        "deliver", "--mode", "cli", "--prompt", prompt, "--", sys.executable, str(program),
        "{prompt_file}", str(received),
    )  # fmt: skip
    assert received.read_bytes() == prompt.encode()

    failed = cli.run("deliver", "--mode", "cli", "--json", "--", sys.executable, "-c", "exit(4)")
    assert failed.returncode == 1
    failed_job = json.loads(failed.stdout)  # the job is printed; its status says it failed
    assert (failed_job["status"], failed_job["result"]["exit_code"]) == ("failed", 4)

    missing = cli.run("deliver", "--mode", "cli", "--json", "--", str(tmp_path / "nope"))
    assert missing.returncode == 1
    assert "program not found" in json.loads(missing.stdout)["error"]

    assert _fields(cli.problem("deliver", "--mode", "cli")) == ["argv"]

    jobs = cli.ok("jobs")
    assert [j["status"] for j in jobs] == ["failed", "failed", "succeeded", "succeeded"]
    assert all(set(j) == JOB_KEYS for j in jobs)
    assert cli.ok("jobs", job["id"]) == job
    assert cli.problem("jobs", "00000000-0000-4000-8000-000000000000")["title"] == "Not found"
    assert [j["id"] for j in cli.ok("jobs", "--status", "succeeded", "--limit", "1")] == [
        jobs[2]["id"]
    ]


def test_deliver_http(cli: Cli, lora_dir: Path, http_server: ScriptedServer) -> None:
    cli.ok("add", str(make_lora(lora_dir, "foo.safetensors")), "--weight", "0.5", "--active")
    http_server.replies = [(200, {}, b'{"images": []}')]

    job = cli.ok(
        "deliver", "--mode", "http", "--url", http_server.url, "--prompt", "a cat",
        "--header", "X-Token: abc",
    )  # fmt: skip

    assert set(job) == JOB_KEYS
    assert (job["status"], job["attempts"]) == ("succeeded", 1)
    assert job["result"] == {"status_code": 200, "json": {"images": []}}
    assert job["params"]["headers"] == {"X-Token": "***"}
    [request] = http_server.requests
    assert json.loads(request["body"]) == {"prompt": "a cat", "metadata": {}}  # type: ignore[arg-type]
    assert request["headers"]["X-Token"] == "abc"  # type: ignore[index]

    http_server.replies = [(404, {}, b"no such endpoint")]
    refused = cli.run("deliver", "--mode", "http", "--url", http_server.url, "--json")
    assert refused.returncode == 1
    refused_job = json.loads(refused.stdout)
    assert (refused_job["status"], refused_job["attempts"]) == ("failed", 1)
    assert json.loads(http_server.requests[1]["body"])["prompt"] == "<lora:foo:0.5>"  # type: ignore[arg-type]

    assert _fields(cli.problem("deliver", "--mode", "http", "--url", "ftp://x")) == ["url"]
