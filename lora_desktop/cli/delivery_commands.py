"""Delivery commands: ``targets add|edit|rm|list|show``, ``jobs retry|cancel|resume``,
``deliver --target`` and ``compose --deliver``."""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from lora_desktop.cli import output
from lora_desktop.models.delivery import TARGET_MODES, TargetOut
from lora_desktop.models.schemas import ComposeResult, DeliveryJobOut, DeliveryRef
from lora_desktop.services import deliveries, targets
from lora_desktop.services.delivery_log import setup_delivery_log
from lora_desktop.services.errors import ValidationFailed
from lora_desktop.services.library import Library

Printer = Callable[[argparse.Namespace, Any, str], None]
EXIT_OK, EXIT_FAILED = 0, 1
RESUME_WORKERS = 2
DELIVERING = frozenset({"deliver", "compose", "jobs"})

log = logging.getLogger(__name__)


def start_event_log(command: str) -> None:
    """Write delivery events to the user log folder for commands that deliver; a folder
    that cannot be written only costs the log, never the delivery."""
    if command not in DELIVERING:
        return
    try:
        setup_delivery_log()
    except OSError as exc:
        log.warning("delivery log not written: %s", exc)


def _target_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--url", help="http: where to POST")
    p.add_argument("--base-url", help="a1111/comfyui: the server, e.g. http://127.0.0.1:7860")
    p.add_argument("--header", action="append", metavar="NAME:VALUE", help="repeat; secret-safe")
    p.add_argument("--negative-prompt")
    p.add_argument("--output-dir", help="a1111/comfyui: where the images are saved")
    p.add_argument("--workflow", metavar="FILE", help="comfyui: the workflow in API format")
    p.add_argument("--cwd", help="cli: working folder")
    p.add_argument("--timeout", type=float, metavar="SECONDS", help="total per attempt")
    p.add_argument("--attempts", type=int, help="tries for failures that are safe to retry")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=JSON",
        help="any other setting, e.g. steps=20, width=768, sampler_name='\"Euler a\"'",
    )
    p.add_argument("argv", nargs="*", metavar="-- PROGRAM ARG", help="cli: {prompt_file}, {prompt}")


def add_parsers(command: Callable[[str, str], argparse.ArgumentParser]) -> None:
    """Add the ``targets`` command (the others extend existing commands in the parser)."""
    p = command("targets", "named delivery targets: add, edit, rm, list, show")
    sub = p.add_subparsers(dest="targets_action", metavar="ACTION", required=True)
    add = sub.add_parser("add", help="add a target")
    add.add_argument("name")
    add.add_argument("--mode", choices=TARGET_MODES, required=True)
    _target_options(add)
    edit = sub.add_parser("edit", help="change a target's settings (only those given)")
    edit.add_argument("name", metavar="ID_OR_NAME")
    edit.add_argument("--rename", metavar="NEW_NAME")
    _target_options(edit)
    sub.add_parser("rm", help="delete a target (its jobs stay)").add_argument("name")
    sub.add_parser("show", help="show one target").add_argument("name")
    sub.add_parser("list", help="list the targets")


def _headers(values: list[str] | None) -> dict[str, str] | None:
    if values is None:
        return None
    headers = {}
    for value in values:
        name, sep, content = value.partition(":")
        if not sep or not name.strip():
            raise ValidationFailed.field("header", f"{value!r} is not NAME:VALUE")
        headers[name.strip()] = content.strip()
    return headers


def _config(args: argparse.Namespace) -> dict[str, Any]:
    config: dict[str, Any] = {}
    simple = {
        "url": "url",
        "base_url": "base_url",
        "negative_prompt": "negative_prompt",
        "output_dir": "output_dir",
        "cwd": "cwd",
        "timeout": "timeout",
        "attempts": "max_attempts",
    }
    for attr, key in simple.items():
        if getattr(args, attr) is not None:
            config[key] = getattr(args, attr)
    headers = _headers(args.header)
    if headers is not None:
        config["headers"] = headers
    if args.argv:
        config["argv"] = args.argv
    if args.workflow:
        try:
            config["workflow"] = json.loads(Path(args.workflow).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValidationFailed.field("workflow", f"cannot read {args.workflow}: {exc}") from exc
    for item in args.set:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ValidationFailed.field("set", f"{item!r} is not KEY=JSON")
        try:
            config[key] = json.loads(raw)
        except ValueError:
            config[key] = raw  # a bare word: a string
    return config


def _target_text(t: TargetOut) -> str:
    settings = "\n".join(
        f"  {k}: {json.dumps(v, ensure_ascii=False)[:200]}" for k, v in t.config.items()
    )
    return f"{t.name} ({t.mode}, {t.id})\n{settings}"


def cmd_targets(lib: Library, args: argparse.Namespace, show: Printer) -> int:
    """``targets ACTION``."""
    action = args.targets_action
    if action == "list":
        items = targets.list_targets(lib)
        text = "\n".join(f"{t.name:<24} {t.mode:<8} {t.id}" for t in items)
        show(args, items, text or "no delivery targets")
        return EXIT_OK
    if action == "add":
        made = targets.create_target(
            lib, {"name": args.name, "mode": args.mode, "config": _config(args)}
        )
        show(args, made, _target_text(made))
    elif action == "edit":
        changed = targets.update_target(
            lib, args.name, {"name": args.rename, "config": _config(args)}
        )
        show(args, changed, _target_text(changed))
    elif action == "rm":
        removed = targets.delete_target(lib, args.name)
        show(args, removed, f"deleted target {removed.name}")
    else:
        found = targets.get_target(lib, args.name)
        show(args, found, _target_text(found))
    return EXIT_OK


def deliver_to_target(lib: Library, args: argparse.Namespace, show: Printer) -> int:
    """``deliver --target NAME [--prompt TEXT]``: enqueue, run to the end, print the job."""
    job = deliveries.enqueue(lib, target=args.target, prompt=args.prompt)
    return _finish(args, show, deliveries.run_job(lib, job.id))


def _finish(args: argparse.Namespace, show: Printer, job: DeliveryJobOut) -> int:
    show(args, job, output.job_text(job))
    return EXIT_OK if job.status == "succeeded" else EXIT_FAILED


def compose_and_deliver(
    lib: Library, args: argparse.Namespace, show: Printer, result: ComposeResult
) -> int:
    """``compose --deliver NAME [--wait]``: the composed prompt to a target.

    Without ``--wait`` the job stays pending (the window, or ``jobs resume``, runs it).
    """
    job = deliveries.enqueue(lib, target=args.deliver, prompt=result.prompt)
    if args.wait:
        job = deliveries.run_job(lib, job.id)
    shown = result.model_copy(update={"delivery": DeliveryRef(id=job.id, status=job.status)})
    text = output.job_text(job) if args.wait else f"{result.prompt}\nqueued as job {job.id}"
    show(args, shown, text)
    return EXIT_OK if job.status in ("succeeded", "pending") else EXIT_FAILED


def cmd_jobs_action(lib: Library, args: argparse.Namespace, show: Printer) -> int | None:
    """``jobs retry ID`` (then run it), ``jobs cancel ID``, ``jobs resume``; None for the
    plain forms (``jobs``, ``jobs ID``)."""
    words = list(args.words)
    if not words or words[0] not in ("retry", "cancel", "resume"):
        if len(words) > 1:
            raise ValidationFailed.field("jobs", "use: jobs [ID] | jobs retry|cancel ID | resume")
        args.job_id = words[0] if words else None
        return None
    action, rest = words[0], words[1:]
    if action == "resume":
        ids = deliveries.unfinished_jobs(lib)
        with ThreadPoolExecutor(RESUME_WORKERS) as pool:
            done = list(pool.map(lambda i: deliveries.run_job(lib, i), ids))
        lines = [f"{j.id}  {j.status}" for j in done]
        show(args, done, "\n".join(lines) or "nothing to resume")
        return EXIT_OK if all(j.status == "succeeded" for j in done) else EXIT_FAILED
    if len(rest) != 1:
        raise ValidationFailed.field("jobs", f"use: jobs {action} ID")
    if action == "cancel":
        job = deliveries.cancel_job(lib, rest[0])
        show(args, job, output.job_text(job))
        return EXIT_OK
    deliveries.retry_job(lib, rest[0])
    return _finish(args, show, deliveries.run_job(lib, rest[0]))
