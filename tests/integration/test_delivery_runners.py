"""Each runner against a real local runtime or program: the exact request, hardening."""

from __future__ import annotations

import base64
import os
import select
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lora_desktop.services.runners import png
from lora_desktop.services.runners.a1111 import run_a1111
from lora_desktop.services.runners.cli import child_environment, run_cli
from lora_desktop.services.runners.comfyui import CLIENT_ID, run_comfyui
from lora_desktop.services.runners.http import run_http
from lora_desktop.services.runners.workflow import LoraLink, WorkflowError, prepare
from tests.integration.delivery_fakes import (
    API_WORKFLOW,
    ComfyState,
    FakeRuntime,
    install_a1111,
    install_comfyui,
    json_reply,
)

ADAPTERS = {
    "adapters": [
        {"name": "foo", "weight": 0.75, "sha256": None},
        {"name": "ghost", "weight": 0.5, "sha256": None},
    ]
}


@pytest.fixture
def runtime() -> Iterator[FakeRuntime]:
    server = FakeRuntime()
    try:
        yield server
    finally:
        server.close()


# -- http ------------------------------------------------------------------------------------


def test_http_sends_the_target_body_and_headers(runtime: FakeRuntime) -> None:
    runtime.routes[("POST", "/hook")] = lambda seen: json_reply({"ok": True})
    outcome = run_http(
        "a cat",
        {
            "url": runtime.base_url + "/hook",
            "headers": {"X-Token": "s3cret"},
            "negative_prompt": "blurry",
            "metadata": ADAPTERS,
            "timeout": 2,
        },
    )
    assert outcome.succeeded, outcome.error
    assert outcome.result == {"status_code": 200, "json": {"ok": True}}
    [seen] = runtime.seen
    assert seen.json() == {"prompt": "a cat", "negative_prompt": "blurry", "metadata": ADAPTERS}
    assert seen.headers["X-Token"] == "s3cret"
    assert seen.headers["Content-Type"] == "application/json"


def test_a_redirect_is_not_followed_and_credentials_stay_home(runtime: FakeRuntime) -> None:
    other = FakeRuntime()
    try:
        other.routes[("POST", "/steal")] = lambda seen: json_reply({"ok": True})
        runtime.routes[("POST", "/hook")] = lambda seen: (
            307,
            {"Location": other.base_url.replace("127.0.0.1", "localhost") + "/steal"},
            b"",
        )
        outcome = run_http(
            "p", {"url": runtime.base_url + "/hook", "headers": {"Authorization": "Bearer x"}}
        )
        assert not outcome.succeeded
        assert not outcome.retryable
        assert "redirects are not followed" in (outcome.error or "")
        assert outcome.result["status_code"] == 307
        assert other.seen == []  # the token never left for the other host
    finally:
        other.close()


def test_a_trickling_server_is_cut_at_the_total_deadline(runtime: FakeRuntime) -> None:
    runtime.routes[("POST", "/slow")] = lambda seen: (200, {}, runtime.trickle(0.2))
    started = time.monotonic()
    outcome = run_http("p", {"url": runtime.base_url + "/slow", "timeout": 1.0})
    elapsed = time.monotonic() - started
    assert not outcome.succeeded
    assert not outcome.retryable  # the request was sent: it may have run
    assert "total deadline 1 s" in (outcome.error or "")
    assert "may have run" in (outcome.error or "")
    assert elapsed < 1.0 + 0.2 + 0.5  # one more byte at most, not forever


def test_a_reply_over_the_cap_is_cut_off(runtime: FakeRuntime) -> None:
    big = b"[" + b"1," * (5 * 1024 * 1024) + b"1]"  # 10 MiB of JSON
    runtime.routes[("POST", "/big")] = lambda seen: (200, {}, iter([big]))  # no Content-Length
    outcome = run_http("p", {"url": runtime.base_url + "/big", "timeout": 5})
    assert not outcome.succeeded
    assert outcome.error == f"{runtime.base_url}/big sent more than 8 MiB; the reply was cut off"


# -- a1111 -----------------------------------------------------------------------------------


def test_a1111_txt2img_saves_pngs_with_the_prompt(runtime: FakeRuntime, tmp_path: Path) -> None:
    install_a1111(runtime, loras=["foo"])
    params: dict[str, Any] = {
        "base_url": runtime.base_url + "/",
        "output_dir": str(tmp_path / "out"),
        "negative_prompt": "lowres",
        "steps": 12,
        "width": 640,
        "height": 512,
        "sampler_name": "DPM++ 2M",
        "cfg_scale": 6.5,
        "seed": 42,
        "batch_size": 2,
        "metadata": ADAPTERS,
        "timeout": 5,
    }
    outcome = run_a1111("masterpiece <lora:foo:0.75> <lora:ghost:0.5>", params)

    assert outcome.succeeded, outcome.error
    assert runtime.paths() == ["GET /sdapi/v1/loras", "POST /sdapi/v1/txt2img"]
    assert runtime.seen[1].json() == {
        "prompt": "masterpiece <lora:foo:0.75> <lora:ghost:0.5>",
        "negative_prompt": "lowres",
        "steps": 12,
        "width": 640,
        "height": 512,
        "sampler_name": "DPM++ 2M",
        "cfg_scale": 6.5,
        "seed": 42,
        "batch_size": 2,
    }
    assert outcome.result["warnings"] == [
        "the runtime does not know the LoRA 'ghost'; it will be ignored there"
    ]
    assert outcome.result["info"]["seed"] == 42
    images = [Path(p) for p in outcome.result["images"]]
    assert len(images) == 2
    for index, image in enumerate(images):
        assert image.parent == tmp_path / "out"
        assert image.suffix == ".png"
        text = png.read_text(image.read_bytes())
        assert text["parameters"] == (
            f"masterpiece <lora:foo:0.75> <lora:ghost:0.5>\nSteps: 12, Seed: {index}"
        )


def test_a1111_without_a_lora_list_still_generates(runtime: FakeRuntime, tmp_path: Path) -> None:
    install_a1111(runtime, loras=[])
    del runtime.routes[("GET", "/sdapi/v1/loras")]  # an older server: 404
    outcome = run_a1111(
        "p", {"base_url": runtime.base_url, "output_dir": str(tmp_path), "metadata": ADAPTERS}
    )
    assert outcome.succeeded, outcome.error
    assert outcome.result["warnings"] == []
    assert runtime.seen[1].json() == {"prompt": "p"}  # only the settings that are set


def test_a1111_client_error_fails_at_once(runtime: FakeRuntime, tmp_path: Path) -> None:
    runtime.routes[("POST", "/sdapi/v1/txt2img")] = lambda seen: json_reply(
        {"detail": [{"msg": "field required"}]}, 422
    )
    outcome = run_a1111("p", {"base_url": runtime.base_url, "output_dir": str(tmp_path)})
    assert not outcome.succeeded
    assert not outcome.retryable
    assert "refused the request (422); check the target" in (outcome.error or "")


def test_a1111_reply_that_is_not_images(runtime: FakeRuntime, tmp_path: Path) -> None:
    runtime.routes[("POST", "/sdapi/v1/txt2img")] = lambda seen: json_reply(
        {"images": [base64.b64encode(b"not an image").decode()]}
    )
    outcome = run_a1111("p", {"base_url": runtime.base_url, "output_dir": str(tmp_path)})
    assert not outcome.succeeded
    assert "could not be saved" in (outcome.error or "")
    assert list(tmp_path.iterdir()) == []


# -- comfyui ---------------------------------------------------------------------------------


def test_the_workflow_gets_a_lora_chain_and_the_prompt() -> None:
    graph = prepare(
        API_WORKFLOW,
        [LoraLink("foo.safetensors", 0.75), LoraLink("sub/bar.safetensors", -0.5)],
        "a cat",
    )
    assert graph["10"]["class_type"] == graph["11"]["class_type"] == "LoraLoader"
    assert graph["10"]["inputs"] == {
        "model": ["4", 0],
        "clip": ["4", 1],
        "lora_name": "foo.safetensors",
        "strength_model": 0.75,
        "strength_clip": 0.75,
    }
    assert graph["11"]["inputs"] == {
        "model": ["10", 0],
        "clip": ["10", 1],
        "lora_name": "sub/bar.safetensors",
        "strength_model": -0.5,
        "strength_clip": -0.5,
    }
    assert graph["3"]["inputs"]["model"] == ["11", 0]  # the sampler uses the chain's end
    assert graph["6"]["inputs"] == {"text": "a cat", "clip": ["11", 1]}
    assert graph["7"]["inputs"] == {"text": "bad hands", "clip": ["11", 1]}  # untouched text
    assert graph["8"]["inputs"]["vae"] == ["4", 2]  # VAE still from the checkpoint
    assert API_WORKFLOW["6"]["inputs"]["text"] == "placeholder"  # the original is not changed


@pytest.mark.parametrize(
    ("workflow", "message"),
    [
        ({"nodes": [], "links": []}, "API format"),
        ({k: v for k, v in API_WORKFLOW.items() if k != "4"}, "no checkpoint loader"),
        ({k: v for k, v in API_WORKFLOW.items() if k != "3"}, "positive"),
    ],
)
def test_a_workflow_that_cannot_be_prepared(workflow: Any, message: str) -> None:
    with pytest.raises(WorkflowError, match=message):
        prepare(workflow, [LoraLink("foo.safetensors", 1.0)], "p")


def _comfy_params(runtime: FakeRuntime, tmp_path: Path, **extra: Any) -> dict[str, Any]:
    return {
        "base_url": runtime.base_url,
        "workflow": API_WORKFLOW,
        "output_dir": str(tmp_path / "out"),
        "loras": [{"lora_name": "foo.safetensors", "weight": 0.75}],
        "prompt_id": "6f1c2b1e-0000-4000-8000-000000000001",
        "poll_interval": 0.05,
        "timeout": 5,
        **extra,
    }


def test_comfyui_queues_follows_and_downloads(runtime: FakeRuntime, tmp_path: Path) -> None:
    state = ComfyState(polls_before_done=2)
    install_comfyui(runtime, state)
    params = _comfy_params(runtime, tmp_path)

    outcome = run_comfyui("a cat <lora:foo:0.75>", params)

    assert outcome.succeeded, outcome.error
    prompt_id = params["prompt_id"]
    [posted] = [s for s in runtime.seen if s.method == "POST"]
    body = posted.json()
    assert set(body) == {"prompt", "client_id", "prompt_id"}
    assert (body["client_id"], body["prompt_id"]) == (CLIENT_ID, prompt_id)
    assert body["prompt"] == prepare(
        API_WORKFLOW, [LoraLink("foo.safetensors", 0.75)], "a cat <lora:foo:0.75>"
    )
    assert runtime.paths()[:3] == [f"GET /history/{prompt_id}", "GET /queue", "POST /prompt"]
    views = [s for s in runtime.seen if s.path == "/view"]
    assert [v.query for v in views] == [
        {"filename": ["ComfyUI_00001_.png"], "type": ["output"]}  # temp previews skipped
    ]
    [image] = outcome.result["images"]
    assert Path(image).parent == tmp_path / "out"
    assert png.read_text(Path(image).read_bytes())["parameters"] == "a cat <lora:foo:0.75>"
    assert outcome.result["prompt_id"] == prompt_id


def test_comfyui_retry_follows_the_earlier_prompt(runtime: FakeRuntime, tmp_path: Path) -> None:
    state = ComfyState(polls_before_done=0)
    install_comfyui(runtime, state)
    params = _comfy_params(runtime, tmp_path)
    state.prompts[params["prompt_id"]] = {}  # the first attempt reached it

    outcome = run_comfyui("p", params)

    assert outcome.succeeded, outcome.error
    assert "POST /prompt" not in runtime.paths()  # never queued twice


def test_comfyui_refusal_says_why(runtime: FakeRuntime, tmp_path: Path) -> None:
    install_comfyui(runtime, ComfyState())
    runtime.routes[("POST", "/prompt")] = lambda seen: json_reply(
        {
            "error": {
                "type": "prompt_outputs_failed_validation",
                "message": "Prompt outputs failed validation",
                "details": "",
            },
            "node_errors": {"10": {"errors": [{"message": "Value not in list"}]}},
        },
        400,
    )
    outcome = run_comfyui("p", _comfy_params(runtime, tmp_path))
    assert not outcome.succeeded
    assert not outcome.retryable
    assert outcome.error == "ComfyUI refused the workflow: Prompt outputs failed validation"


def test_comfyui_that_never_finishes_stops_at_the_deadline(
    runtime: FakeRuntime, tmp_path: Path
) -> None:
    install_comfyui(runtime, ComfyState(polls_before_done=10**6))
    outcome = run_comfyui("p", _comfy_params(runtime, tmp_path, timeout=0.5))
    assert not outcome.succeeded
    assert not outcome.retryable
    assert "may still run (Retry follows it)" in (outcome.error or "")


def test_comfyui_deadline_reached_during_a_poll_says_it_may_still_run(
    runtime: FakeRuntime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The deadline running out inside a /history request, not between two, reads the same."""
    from lora_desktop.services.runners import comfyui

    install_comfyui(runtime, ComfyState(polls_before_done=10**6))

    real_history = comfyui._Session.history
    calls: list[str] = []

    def poll_that_times_out(session: comfyui._Session, prompt_id: str) -> object:
        calls.append(prompt_id)
        if len(calls) == 1:  # the check before posting: answered
            return real_history(session, prompt_id)
        session.deadline.at = time.monotonic()  # the total deadline ends during this poll
        raise comfyui.Failed(
            comfyui.Outcome(False, {}, "/history did not answer in time; it may have run it")
        )

    monkeypatch.setattr(comfyui._Session, "history", poll_that_times_out)
    outcome = run_comfyui("p", _comfy_params(runtime, tmp_path, timeout=5))
    assert not outcome.succeeded
    assert "may still run (Retry follows it)" in (outcome.error or "")


# -- cli -------------------------------------------------------------------------------------


def _program(tmp_path: Path, body: str) -> str:
    path = tmp_path / "program.py"
    path.write_text(textwrap.dedent(body))
    return str(path)


def test_the_program_does_not_get_the_apps_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("CIVITAI_TOKEN", "MY_SECRET", "DB_PASSWORD", "HF_API_KEY", "DATABASE_URL"):
        monkeypatch.setenv(name, "hidden")
    monkeypatch.setenv("LORA_DESKTOP_DATABASE", "/x/library.sqlite3")
    monkeypatch.setenv("KEEP_ME", "visible")
    program = _program(tmp_path, "import json, os\nprint(json.dumps(dict(os.environ)))\n")

    outcome = run_cli("p", {"argv": [sys.executable, program]})

    assert outcome.succeeded, outcome.error
    import json

    environment = json.loads(outcome.result["stdout"])
    assert environment["KEEP_ME"] == "visible"
    assert "hidden" not in environment.values()
    assert "LORA_DESKTOP_DATABASE" not in environment
    assert child_environment({"PATH": "/bin", "api_key": "x"}) == {"PATH": "/bin"}


def test_a_placeholder_inside_an_argument_is_refused(tmp_path: Path) -> None:
    outcome = run_cli("p", {"argv": [sys.executable, "-c", "pass", "--prompt={prompt}"]})
    assert not outcome.succeeded
    assert outcome.error == (
        "bad command: {prompt} must be a whole argument, not part of '--prompt={prompt}'"
    )


def _dead(pid: int) -> bool:
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        readable, _, _ = select.select([fd], [], [], 10)
        return bool(readable)
    finally:
        os.close(fd)


def test_cancel_kills_the_program_and_its_children(tmp_path: Path) -> None:
    pid_pipe = tmp_path / "grandchild.pid"
    os.mkfifo(pid_pipe)  # the test blocks on it until the program has started its child
    program = _program(
        tmp_path,
        f"""
        import subprocess, time
        child = subprocess.Popen(["sleep", "600"])
        with open({str(pid_pipe)!r}, "w") as pipe:
            pipe.write(str(child.pid))
        time.sleep(600)
        """,
    )
    cancel = threading.Event()
    outcomes: list[Any] = []
    worker = threading.Thread(
        target=lambda: outcomes.append(
            run_cli("p", {"argv": [sys.executable, program], "timeout": 60}, cancel)
        )
    )
    worker.start()
    grandchild = int(pid_pipe.read_text())
    cancel.set()
    worker.join(10)
    [outcome] = outcomes
    assert (outcome.succeeded, outcome.error) == (False, "cancelled")
    assert _dead(grandchild)
