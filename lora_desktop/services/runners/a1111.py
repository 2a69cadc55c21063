"""The ``a1111`` runner: txt2img on an AUTOMATIC1111, Forge or SD.Next server.

One attempt: ``GET /sdapi/v1/loras`` (when it answers) to warn about adapters
the runtime does not know, then ``POST /sdapi/v1/txt2img``; the base64 images
of the reply are saved in the output folder, a PNG keeping its generation
parameters (the prompt first) in its ``parameters`` text chunk, as A1111 does.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
from pathlib import Path
from typing import Any

import httpx

from lora_desktop.services.runners import Outcome
from lora_desktop.services.runners.images import batch_stem, save_image
from lora_desktop.services.runners.transport import (
    IMAGE_CAP,
    JSON_CAP,
    Deadline,
    Failed,
    client,
    exchange,
    judge,
)

LORAS_PATH = "/sdapi/v1/loras"
TXT2IMG_PATH = "/sdapi/v1/txt2img"
LORAS_CHECK_MAX = 5.0
"""Longest wait for the adapter list (it only feeds warnings)."""
SETTINGS = ("negative_prompt", "steps", "width", "height", "sampler_name", "cfg_scale", "seed")
SETTINGS_MORE = ("batch_size",)


def txt2img_body(prompt: str, params: dict[str, Any]) -> dict[str, Any]:
    """The ``/sdapi/v1/txt2img`` body: the prompt and the target's settings that are set."""
    body: dict[str, Any] = {"prompt": prompt}
    for key in (*SETTINGS, *SETTINGS_MORE):
        if params.get(key) is not None:
            body[key] = params[key]
    return body


def _adapter_names(params: dict[str, Any]) -> list[str]:
    adapters = (params.get("metadata") or {}).get("adapters") or []
    return [str(a["name"]) for a in adapters if isinstance(a, dict) and a.get("name")]


def _unknown_adapters(
    http: httpx.Client, base: str, params: dict[str, Any], deadline: Deadline, cancel: Any
) -> list[str]:
    """Warnings for adapters the runtime does not list (none when it cannot say).

    Raises:
        Failed: the runtime cannot be reached at all (retryable: nothing was sent).
    """
    names = _adapter_names(params)
    if not names:
        return []
    check = Deadline(min(LORAS_CHECK_MAX, deadline.remaining()))
    try:
        reply = exchange(
            http, "GET", base + LORAS_PATH, deadline=check, cap=JSON_CAP, cancel=cancel
        )
        listed = reply.json() if reply.status_code == 200 else None
    except Failed as failed:
        if failed.outcome.retryable or failed.outcome.error == "cancelled":
            raise
        return [f"could not check the runtime's LoRA list: {failed.outcome.error}"]
    except ValueError:
        listed = None
    if not isinstance(listed, list):
        return []
    known: set[str] = set()
    for entry in listed:
        if isinstance(entry, dict):
            known.update(str(entry[k]) for k in ("name", "alias") if entry.get(k))
    return [
        f"the runtime does not know the LoRA {name!r}; it will be ignored there"
        for name in names
        if name not in known
    ]


def _infotexts(reply_json: dict[str, Any]) -> tuple[Any, list[str]]:
    info = reply_json.get("info")
    if isinstance(info, str):
        try:
            info = json.loads(info)
        except ValueError:
            return info, []
    texts = info.get("infotexts") if isinstance(info, dict) else None
    return info, [str(t) for t in texts] if isinstance(texts, list) else []


def _fallback_parameters(prompt: str, body: dict[str, Any]) -> str:
    lines = [prompt]
    if body.get("negative_prompt"):
        lines.append(f"Negative prompt: {body['negative_prompt']}")
    names = {"steps": "Steps", "sampler_name": "Sampler", "cfg_scale": "CFG scale", "seed": "Seed"}
    settings = [f"{label}: {body[key]}" for key, label in names.items() if key in body]
    if "width" in body and "height" in body:
        settings.append(f"Size: {body['width']}x{body['height']}")
    if settings:
        lines.append(", ".join(settings))
    return "\n".join(lines)


def run_a1111(
    prompt: str, params: dict[str, Any], cancel: threading.Event | None = None
) -> Outcome:
    """Generate once and save the images; never raises for network trouble, it reports it."""
    base = str(params["base_url"]).rstrip("/")
    headers = {str(k): str(v) for k, v in dict(params.get("headers") or {}).items()}
    deadline = Deadline(float(params.get("timeout", 300.0)))
    url = base + TXT2IMG_PATH
    body = txt2img_body(prompt, params)
    try:
        with client() as http:
            http.headers.update(headers)
            warnings = _unknown_adapters(http, base, params, deadline, cancel)
            reply = exchange(
                http, "POST", url, deadline=deadline, cap=IMAGE_CAP, json_body=body, cancel=cancel
            )
    except Failed as failed:
        return failed.outcome
    refused = judge(url, reply)
    if refused is not None:
        return refused
    try:
        answer = reply.json()
        images = [base64.b64decode(i, validate=True) for i in answer["images"]]
    except (ValueError, KeyError, TypeError, binascii.Error):
        return Outcome(
            False,
            {"status_code": reply.status_code},
            f"{url} did not answer with base64 images; is this an A1111-compatible API?",
        )
    info, texts = _infotexts(answer)
    folder = Path(str(params["output_dir"])).expanduser()
    stem = batch_stem()
    paths: list[str] = []
    try:
        for index, data in enumerate(images):
            text = texts[index] if index < len(texts) else _fallback_parameters(prompt, body)
            paths.append(str(save_image(folder, f"{stem}-{index:02d}", data, text)))
    except (OSError, ValueError) as exc:
        return Outcome(
            False,
            {"status_code": reply.status_code, "images": paths, "warnings": warnings},
            f"the images could not be saved in {folder}: {exc}",
        )
    result = {"status_code": reply.status_code, "images": paths, "info": info, "warnings": warnings}
    return Outcome(True, result)
