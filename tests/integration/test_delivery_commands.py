"""The delivery commands end to end, in subprocesses: targets, deliver/compose to a target, jobs."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import make_lora
from tests.integration.delivery_fakes import FakeRuntime, json_reply
from tests.integration.test_cli import JOB_KEYS, Cli


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path / "cli" / "library.sqlite3")


@pytest.fixture
def runtime() -> Iterator[FakeRuntime]:
    server = FakeRuntime()
    server.routes[("POST", "/hook")] = lambda seen: json_reply({"ok": True})
    try:
        yield server
    finally:
        server.close()


def test_targets_add_edit_list_rm(cli: Cli, runtime: FakeRuntime, tmp_path: Path) -> None:
    token = "Bearer 0123456789abcdefWXYZ"
    made = cli.ok(
        "targets", "add", "hook", "--mode", "http", "--url", runtime.base_url + "/hook",
        "--header", f"Authorization: {token}", "--set", "negative_prompt=\"blurry\"",
    )  # fmt: skip
    assert made["config"]["headers"] == {"Authorization": "***WXYZ"}
    assert made["config"]["negative_prompt"] == "blurry"
    shown = cli.run("targets", "show", "hook")
    assert token not in shown.stdout
    workflow = tmp_path / "wf.json"
    workflow.write_text('{"1": {"class_type": "CheckpointLoaderSimple", "inputs": {}}}')
    comfy = cli.ok(
        "targets", "add", "comfy", "--mode", "comfyui", "--base-url", "http://127.0.0.1:8188",
        "--output-dir", str(tmp_path / "out"), "--workflow", str(workflow),
    )  # fmt: skip
    assert comfy["config"]["workflow"]["1"]["class_type"] == "CheckpointLoaderSimple"
    edited = cli.ok("targets", "edit", "hook", "--rename", "webhook", "--timeout", "5")
    assert (edited["name"], edited["config"]["timeout"]) == ("webhook", 5)
    assert [t["name"] for t in cli.ok("targets", "list")] == ["comfy", "webhook"]
    problem = cli.problem("targets", "add", "x", "--mode", "a1111", "--base-url", "ftp://h")
    assert {p["name"] for p in problem["invalid_params"]} == {
        "config.base_url",
        "config.output_dir",
    }
    assert cli.ok("targets", "rm", "comfy")["name"] == "comfy"
    assert cli.problem("targets", "show", "comfy")["title"] == "Not found"


def test_deliver_and_compose_to_a_target(cli: Cli, runtime: FakeRuntime, lora_dir: Path) -> None:
    cli.ok("add", str(make_lora(lora_dir, "foo.safetensors")), "--weight", "0.5", "--active")
    cli.ok("targets", "add", "hook", "--mode", "http", "--url", runtime.base_url + "/hook")

    job = cli.ok("deliver", "--target", "hook")
    assert set(job) == JOB_KEYS
    assert (job["status"], job["mode"], job["params"]["target"]) == ("succeeded", "http", "hook")
    assert runtime.seen[0].json() == {
        "prompt": "<lora:foo:0.5>",
        "negative_prompt": "",
        "metadata": {"adapters": [{"name": "foo", "weight": 0.5, "sha256": None}]},
    }

    composed = cli.ok("compose", "--prefix", "a cat", "--deliver", "hook", "--wait")
    assert composed["prompt"] == "a cat <lora:foo:0.5>"
    assert composed["delivery"]["status"] == "succeeded"
    assert runtime.seen[1].json()["prompt"] == "a cat <lora:foo:0.5>"

    queued = cli.ok("compose", "--prefix", "later", "--deliver", "hook")
    assert queued["delivery"]["status"] == "pending"
    resumed = cli.ok("jobs", "resume")
    assert [(j["id"], j["status"]) for j in resumed] == [(queued["delivery"]["id"], "succeeded")]
    assert cli.problem("deliver", "--target", "nope")["title"] == "Not found"
    assert cli.run("deliver", "--target", "hook", "--mode", "http").returncode == 2


def test_jobs_retry_and_cancel(cli: Cli, runtime: FakeRuntime) -> None:
    runtime.routes[("POST", "/hook")] = lambda seen: (
        json_reply({"e": 1}, 500) if len(runtime.seen) == 1 else json_reply({"ok": 1})
    )
    cli.ok("targets", "add", "hook", "--mode", "http", "--url", runtime.base_url + "/hook")
    failed = cli.run("--json", "deliver", "--target", "hook", "--prompt", "p")
    assert failed.returncode == 1
    job = json.loads(failed.stdout)
    assert "may have run" in job["error"]

    retried = cli.ok("jobs", "retry", job["id"])
    assert (retried["status"], retried["attempts"]) == ("succeeded", 2)
    assert cli.problem("jobs", "retry", job["id"])["title"] == "Conflict"

    queued = cli.ok("compose", "--deliver", "hook")
    cancelled = cli.ok("jobs", "cancel", queued["delivery"]["id"])
    assert cancelled["status"] == "cancelled"
    assert cli.ok("jobs", "resume") == []
    assert cli.ok("jobs", job["id"])["status"] == "succeeded"  # the plain form still works


def test_a_cli_target(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "got.txt"
    program = tmp_path / "p.py"
    program.write_text("import sys\nopen(sys.argv[2], 'w').write(open(sys.argv[1]).read())\n")
    cli.ok(
        "targets", "add", "script", "--mode", "cli", "--timeout", "10",
        "--", sys.executable, str(program), "{prompt_file}", str(out),
    )  # fmt: skip
    job = cli.ok("deliver", "--target", "script", "--prompt", "x; $(y)")
    assert job["status"] == "succeeded"
    assert out.read_text() == "x; $(y)"
