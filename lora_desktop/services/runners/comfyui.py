"""The ``comfyui`` runner: queue an API-format workflow, follow it, download its images.

One attempt, all within the job's ``timeout``:

1. ``GET /history/{prompt_id}`` and ``GET /queue``: the job carries its own
   ``prompt_id`` (chosen when it was enqueued), so a manual retry after "may have
   run" never queues the same work twice: it only follows the earlier prompt.
2. Otherwise ``POST /prompt`` with ``{"prompt": workflow, "client_id", "prompt_id"}``,
   the workflow prepared by :mod:`.workflow`.
3. ``GET /history/{prompt_id}`` every ``poll_interval`` seconds until it has an
   entry that is completed (or failed).
4. ``GET /view?filename=&subfolder=&type=`` for each output image, saved in the
   output folder.
"""

from __future__ import annotations

import threading
import uuid
from pathlib import Path
from typing import Any

import httpx

from lora_desktop.services.runners import Outcome
from lora_desktop.services.runners.images import save_image
from lora_desktop.services.runners.transport import (
    IMAGE_CAP,
    Deadline,
    Failed,
    client,
    exchange,
    judge,
)
from lora_desktop.services.runners.workflow import LoraLink, WorkflowError, prepare

POLL_INTERVAL = 0.5
CLIENT_ID = str(uuid.uuid4())
"""One id for this app run: ComfyUI tags its websocket messages with it."""


def loras_from(params: dict[str, Any]) -> list[LoraLink]:
    """The adapters to chain: ``params["loras"]`` (file names), else the metadata's names
    with ``.safetensors`` appended."""
    if params.get("loras") is not None:
        return [LoraLink(str(x["lora_name"]), float(x["weight"])) for x in params["loras"]]
    adapters = (params.get("metadata") or {}).get("adapters") or []
    return [LoraLink(f"{a['name']}.safetensors", float(a["weight"])) for a in adapters]


class _Session:
    """The HTTP side of one attempt: base URL, client, deadline, cancel."""

    def __init__(
        self, http: httpx.Client, base: str, deadline: Deadline, cancel: threading.Event
    ) -> None:
        self.http, self.base, self.deadline, self.cancel = http, base, deadline, cancel

    def json(self, method: str, path: str, body: Any = None) -> tuple[int, Any, dict[str, Any]]:
        url = self.base + path
        reply = exchange(
            self.http, method, url, deadline=self.deadline, json_body=body, cancel=self.cancel
        )
        refused = judge(url, reply)
        if refused is not None:
            raise Failed(refused)
        try:
            return reply.status_code, reply.json(), reply.summary()
        except ValueError as exc:
            raise Failed(Outcome(False, reply.summary(), f"{url} did not answer JSON")) from exc

    def history(self, prompt_id: str) -> dict[str, Any] | None:
        _code, answer, _ = self.json("GET", f"/history/{prompt_id}")
        entry = answer.get(prompt_id) if isinstance(answer, dict) else None
        return entry if isinstance(entry, dict) else None

    def queued(self, prompt_id: str) -> bool:
        try:
            _code, answer, _ = self.json("GET", "/queue")
        except Failed as failed:
            if failed.outcome.retryable:
                raise
            return False  # an old server without /queue: nothing to learn
        if not isinstance(answer, dict):
            return False
        for key in ("queue_running", "queue_pending"):
            for item in answer.get(key) or []:
                if isinstance(item, list) and len(item) > 1 and item[1] == prompt_id:
                    return True
        return False

    def wait_done(self, prompt_id: str, interval: float) -> dict[str, Any]:
        while True:
            try:
                entry = self.history(prompt_id)
            except Failed:
                # The deadline can run out during a poll as well as between polls:
                # either way the prompt was queued and may still run.
                if self.deadline.passed() and not self.cancel.is_set():
                    raise self._unfinished(prompt_id) from None
                raise
            status = (entry or {}).get("status") or {}
            if entry is not None and (status.get("completed") or status.get("status_str")):
                return entry
            if self.cancel.wait(min(interval, self.deadline.remaining())):
                raise Failed(Outcome(False, {"prompt_id": prompt_id}, "cancelled"))
            if self.deadline.passed():
                raise self._unfinished(prompt_id)

    def _unfinished(self, prompt_id: str) -> Failed:
        return Failed(
            Outcome(
                False,
                {"prompt_id": prompt_id},
                f"ComfyUI did not finish prompt {prompt_id} within "
                f"{self.deadline.seconds:g} s; it may still run (Retry follows it)",
            )
        )

    def download(self, image: dict[str, Any]) -> bytes:
        query = {k: str(image.get(k) or "") for k in ("filename", "subfolder", "type")}
        url = self.base + "/view"
        reply = exchange(
            self.http,
            "GET",
            url,
            deadline=self.deadline,
            cap=IMAGE_CAP,
            params=query,
            cancel=self.cancel,
        )
        refused = judge(url, reply, {"status_code": reply.status_code, "image": query})
        if refused is not None:
            raise Failed(refused)
        return reply.body


def _images(entry: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for output in (entry.get("outputs") or {}).values():
        for image in (output or {}).get("images") or []:
            if isinstance(image, dict) and image.get("type", "output") == "output":
                found.append(image)
    return found


def _error(entry: dict[str, Any]) -> str | None:
    status = entry.get("status") or {}
    if status.get("status_str") != "error":
        return None
    for kind, data in status.get("messages") or []:
        if kind == "execution_error" and isinstance(data, dict):
            return (
                f"ComfyUI failed in node {data.get('node_type')}: {data.get('exception_message')}"
            )
    return "ComfyUI reported an error while running the workflow"


def _run(session: _Session, prompt: str, params: dict[str, Any]) -> Outcome:
    prompt_id = str(params.get("prompt_id") or uuid.uuid4())
    result: dict[str, Any] = {"prompt_id": prompt_id}
    entry = session.history(prompt_id)
    if entry is None and not session.queued(prompt_id):
        try:
            graph = prepare(
                params["workflow"], loras_from(params), prompt, params.get("negative_prompt")
            )
        except WorkflowError as exc:
            return Outcome(False, result, f"bad workflow: {exc}")
        body = {"prompt": graph, "client_id": CLIENT_ID, "prompt_id": prompt_id}
        try:
            _code, answer, _ = session.json("POST", "/prompt", body)
        except Failed as failed:
            reply = failed.outcome.result.get("json") if failed.outcome.result else None
            detail = (reply or {}).get("error", {}) if isinstance(reply, dict) else {}
            if isinstance(detail, dict) and detail.get("message"):
                failed.outcome.result["comfyui_error"] = detail
                raise Failed(
                    Outcome(
                        False,
                        failed.outcome.result,
                        f"ComfyUI refused the workflow: "
                        f"{detail['message']} {detail.get('details') or ''}".strip(),
                    )
                ) from None
            raise
        result["queued_as"] = answer.get("number") if isinstance(answer, dict) else None
    entry = session.wait_done(prompt_id, float(params.get("poll_interval", POLL_INTERVAL)))
    problem = _error(entry)
    if problem:
        return Outcome(False, result, problem)
    folder = Path(str(params["output_dir"])).expanduser()
    paths = []
    for image in _images(entry):
        data = session.download(image)
        stem = f"{prompt_id[:8]}-{Path(str(image.get('filename') or 'image')).stem}"
        paths.append(str(save_image(folder, stem, data, prompt)))
    result["images"] = paths
    return Outcome(True, result)


def run_comfyui(
    prompt: str, params: dict[str, Any], cancel: threading.Event | None = None
) -> Outcome:
    """Queue (or follow) the job's prompt and save its images; never raises for network
    trouble, it reports it."""
    base = str(params["base_url"]).rstrip("/")
    headers = {str(k): str(v) for k, v in dict(params.get("headers") or {}).items()}
    deadline = Deadline(float(params.get("timeout", 300.0)))
    try:
        with client() as http:
            http.headers.update(headers)
            return _run(
                session=_Session(http, base, deadline, cancel or threading.Event()),
                prompt=prompt,
                params=params,
            )
    except Failed as failed:
        return failed.outcome
    except (OSError, ValueError) as exc:
        return Outcome(
            False, {"prompt_id": params.get("prompt_id")}, f"the images could not be saved: {exc}"
        )
