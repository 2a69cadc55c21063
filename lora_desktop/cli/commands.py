"""One handler per command: parse → service call → print. Returns the exit status."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable
from typing import Any

from lora_desktop.cli import delivery_commands, folder_commands, inspect_commands, output
from lora_desktop.cli.clipboard import copy_text
from lora_desktop.cli.parser import bind_dash_values, build_parser
from lora_desktop.models.schemas import DEFAULT_TEMPLATE
from lora_desktop.services import adapters, compose, deliveries, health, registration
from lora_desktop.services.errors import DomainError, ValidationFailed
from lora_desktop.services.library import Library, open_library

log = logging.getLogger(__name__)

EXIT_OK, EXIT_DOMAIN, EXIT_USAGE = 0, 1, 2
Handler = Callable[[Library, argparse.Namespace], int]


def _print(args: argparse.Namespace, value: Any, text: str) -> None:
    if args.json:
        output.emit_json(value)
    else:
        print(text)


def _fields(args: argparse.Namespace) -> dict[str, Any]:
    """The adapter fields given on the command line, by their contract names."""
    fields: dict[str, Any] = {}
    mapping = {
        "name": "name",
        "adapter_version": "version",
        "tags": "tags",
        "trigger_words": "trigger_words",
        "weight": "weight",
        "ordinal": "ordinal",
        "archetype": "archetype",
        "archetype_confidence": "archetype_confidence",
        "notes": "notes",
    }
    for attr, field in mapping.items():
        value = getattr(args, attr, None)
        if value is not None:
            fields[field] = value
    if getattr(args, "no_ordinal", False):
        fields["ordinal"] = None
    return fields


def cmd_add(lib: Library, args: argparse.Namespace) -> int:
    fields = _fields(args)
    single = len(args.paths) == 1 and not os.path.isdir(args.paths[0])
    if single:
        created = registration.register(
            lib, {"file_path": args.paths[0], "active": args.active, **fields}
        )
        _print(args, created, output.adapter_line(created))
        return EXIT_OK
    if "name" in fields:
        raise ValidationFailed.field("name", "--name needs exactly one file")
    report = registration.register_many(lib, args.paths)
    extra = dict(fields)
    if args.active:
        extra["active"] = True
    for entry in report.entries:
        if entry.outcome == "added" and extra and entry.adapter_id:
            adapters.update_adapter(lib, entry.adapter_id, extra)
    summary = {
        "entries": [e.model_dump(mode="json") for e in report.entries],
        "added": report.added,
        "already_registered": report.already_registered,
        "skipped": report.skipped,
    }
    lines = [
        f"{e.outcome.replace('_', ' ')}: {e.path}" + (f" ({e.reason})" if e.reason else "")
        for e in report.entries
        if e.outcome != "added" or e.reason
    ]
    lines.append(
        f"{report.added} added, {report.already_registered} already registered, "
        f"{report.skipped} skipped"
    )
    _print(args, summary, "\n".join(lines))
    return EXIT_OK


def cmd_list(lib: Library, args: argparse.Namespace) -> int:
    if args.duplicates:
        return inspect_commands.print_duplicates(lib, args, _print)
    page = adapters.list_adapters(
        lib,
        {
            "active": args.active,
            "tag": args.tag,
            "search": args.search,
            "file_status": "missing" if args.missing else None,
            "base_model": args.base_model,
            "include_deleted": args.deleted,
            "limit": args.limit,
            "offset": args.offset,
            "order_by": args.order_by,
        },
    )
    lines = [output.adapter_line(a) for a in page.items]
    shown = f"{page.offset + 1}-{page.offset + len(page.items)}" if page.items else "none"
    lines.append(f"({shown} of {page.total})")
    _print(args, page, "\n".join(lines))
    return EXIT_OK


def cmd_show(lib: Library, args: argparse.Namespace) -> int:
    adapter = adapters.get(lib, args.ref, include_deleted=True)
    _print(args, adapter, output.adapter_text(adapter))
    return EXIT_OK


def cmd_edit(lib: Library, args: argparse.Namespace) -> int:
    fields = _fields(args)
    if not fields:
        raise ValidationFailed("nothing to change: give at least one field option, e.g. --weight")
    adapter = adapters.update_adapter(lib, args.ref, fields)
    _print(args, adapter, output.adapter_text(adapter))
    return EXIT_OK


def cmd_rm(lib: Library, args: argparse.Namespace) -> int:
    adapter = adapters.delete_adapter(lib, args.ref)
    _print(
        args, adapter, f"deleted {adapter.name} (restore with: lora-desktop restore {adapter.id})"
    )
    return EXIT_OK


def cmd_restore(lib: Library, args: argparse.Namespace) -> int:
    adapter = adapters.restore_adapter(lib, args.ref)
    _print(args, adapter, f"restored {adapter.name}")
    return EXIT_OK


def cmd_activate(lib: Library, args: argparse.Namespace) -> int:
    adapter = adapters.activate(
        lib, args.ref, ordinal=args.ordinal, confirm_dangerous=args.confirm_dangerous
    )
    _print(args, adapter, output.adapter_line(adapter))
    return EXIT_OK


def cmd_deactivate(lib: Library, args: argparse.Namespace) -> int:
    adapter = adapters.deactivate(lib, args.ref)
    _print(args, adapter, output.adapter_line(adapter))
    return EXIT_OK


def cmd_reorder(lib: Library, args: argparse.Namespace) -> int:
    items = adapters.reorder(lib, args.refs)
    _print(args, items, "\n".join(output.adapter_line(a) for a in items))
    return EXIT_OK


def cmd_compose(lib: Library, args: argparse.Namespace) -> int:
    result = compose.compose(
        lib,
        {
            "prefix": args.prefix,
            "suffix": args.suffix,
            "template": args.template if args.template is not None else DEFAULT_TEMPLATE,
            "include_trigger_words": not args.no_trigger_words,
        },
    )
    if args.copy:
        copy_text(result.prompt)
    if not args.json:
        for warning in result.warnings:
            print(f"warning: {warning}", file=sys.stderr)
    if args.deliver:
        return delivery_commands.compose_and_deliver(lib, args, _print, result)
    if args.wait:
        raise ValidationFailed.field("wait", "--wait goes with --deliver TARGET")
    _print(args, result, result.prompt)
    return EXIT_OK


def _headers(values: list[str]) -> dict[str, str]:
    headers = {}
    for value in values:
        name, sep, content = value.partition(":")
        if not sep or not name.strip():
            raise ValidationFailed.field("header", f"{value!r} is not NAME:VALUE")
        headers[name.strip()] = content.strip()
    return headers


def cmd_deliver(lib: Library, args: argparse.Namespace) -> int:
    if args.target:
        if args.url or args.argv or args.header:
            raise ValidationFailed.field("target", "--url, --header and a program go with --mode")
        return delivery_commands.deliver_to_target(lib, args, _print)
    request: dict[str, Any] = {
        "mode": args.mode,
        "prompt": args.prompt,
        "timeout": args.timeout,
        "max_attempts": args.attempts,
    }
    if args.mode == "http":
        if args.argv:
            raise ValidationFailed.field("argv", "a program is only for --mode cli")
        request |= {"url": args.url, "headers": _headers(args.header)}
    else:
        if args.url:
            raise ValidationFailed.field("url", "--url is only for --mode http")
        request["argv"] = args.argv
    default_prompt = None
    metadata = None
    if args.prompt is None:
        default_prompt = compose.compose(lib).prompt
        metadata = {
            "adapters": [
                {"name": c.name, "weight": c.weight, "sha256": c.sha256}
                for c in compose.active_candidates(lib)
            ]
        }
    job = deliveries.enqueue(lib, request, default_prompt=default_prompt, metadata=metadata)
    job = deliveries.run_job(lib, job.id)
    _print(args, job, output.job_text(job))
    return EXIT_OK if job.status == "succeeded" else EXIT_DOMAIN


def cmd_jobs(lib: Library, args: argparse.Namespace) -> int:
    status = delivery_commands.cmd_jobs_action(lib, args, _print)
    if status is not None:
        return status
    if args.job_id:
        job = deliveries.get_job(lib, args.job_id)
        _print(args, job, output.job_text(job))
        return EXIT_OK
    jobs = deliveries.list_jobs(lib, limit=args.limit, status=args.status)
    text = "\n".join(
        f"{j.id}  {j.status:<9} {j.mode:<4} {j.created_at:%Y-%m-%d %H:%M}  {j.error or ''}"
        for j in jobs
    )
    _print(args, jobs, text or "no delivery jobs")
    return EXIT_OK


def cmd_health(lib: Library, args: argparse.Namespace) -> int:
    report = health.health(lib)
    text = "\n".join(f"{k}: {v}" for k, v in report.model_dump().items())
    _print(args, report, text)
    return EXIT_OK


HANDLERS: dict[str, Handler] = {
    "add": cmd_add,
    "list": cmd_list,
    "show": cmd_show,
    "edit": cmd_edit,
    "rm": cmd_rm,
    "restore": cmd_restore,
    "activate": cmd_activate,
    "deactivate": cmd_deactivate,
    "reorder": cmd_reorder,
    "compose": cmd_compose,
    "deliver": cmd_deliver,
    "jobs": cmd_jobs,
    "health": cmd_health,
    "targets": lambda lib, args: delivery_commands.cmd_targets(lib, args, _print),
    "scan": lambda lib, args: inspect_commands.cmd_scan(lib, args, _print),
    "hash": lambda lib, args: inspect_commands.cmd_hash(lib, args, _print),
    "rescan": lambda lib, args: inspect_commands.cmd_rescan(lib, args, _print),
    "folders": lambda lib, args: folder_commands.cmd_folders(lib, args, _print),
    "locate-missing": lambda lib, args: folder_commands.cmd_locate_missing(lib, args, _print),
}


def parse(argv: list[str]) -> argparse.Namespace:
    """Parse the command line (exits 2 with a usage message when it is wrong).

    Everything after ``--`` is a program's argument vector (``deliver --mode cli``,
    ``targets add --mode cli``): it is split off first, because argparse does not
    hand ``--`` on to a nested sub-command.
    """
    parser = build_parser()
    program: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, program = argv[:cut], argv[cut + 1 :]
    args = parser.parse_args(bind_dash_values(argv))
    if program:
        if not hasattr(args, "argv"):
            parser.error(f"unrecognized arguments: -- {' '.join(program)}")
        args.argv = [*args.argv, *program]
    args.json = getattr(args, "json", False)
    args.database = getattr(args, "database", None)
    return args


def run(args: argparse.Namespace) -> int:
    """Run the parsed command; domain errors print problem details and give status 1."""
    try:
        lib = open_library(args.database)
    except DomainError as exc:
        output.problem(exc.to_problem(), args.json)
        return EXIT_DOMAIN
    delivery_commands.start_event_log(args.command)
    try:
        return HANDLERS[args.command](lib, args)
    except DomainError as exc:
        output.problem(exc.to_problem(), args.json)
        return EXIT_DOMAIN
    except Exception as exc:  # no traceback reaches the artist; the log keeps it
        log.exception("command %s failed", args.command)
        output.problem(
            {"type": "about:blank", "title": "Unexpected error", "detail": str(exc)}, args.json
        )
        return EXIT_DOMAIN
    finally:
        lib.close()
