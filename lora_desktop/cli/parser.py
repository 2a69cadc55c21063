"""The ``lora-desktop`` argument parser: global options and one sub-parser per command."""

from __future__ import annotations

import argparse

from lora_desktop import __version__
from lora_desktop.cli import delivery_commands, folder_commands, inspect_commands
from lora_desktop.models.schemas import ORDER_BY_CHOICES

DASH_VALUE_OPTIONS = frozenset({"--order-by"})
"""Options whose values may start with ``-`` (``--order-by -name``)."""


def bind_dash_values(argv: list[str]) -> list[str]:
    """Join ``--order-by -name`` into ``--order-by=-name``.

    argparse reads a value that starts with ``-`` as an option and fails with
    "expected one argument"; the descending orders all start with one. Nothing
    after ``--`` (a delivery program's arguments) is touched.
    """
    out: list[str] = []
    index = 0
    while index < len(argv):
        arg = argv[index]
        if arg == "--":
            out.extend(argv[index:])
            break
        following = argv[index + 1] if index + 1 < len(argv) else None
        if arg in DASH_VALUE_OPTIONS and following is not None and following in ORDER_BY_CHOICES:
            out.append(f"{arg}={following}")
            index += 2
            continue
        out.append(arg)
        index += 1
    return out


def _common() -> argparse.ArgumentParser:
    # Accepted before or after the command: SUPPRESS keeps a later default from
    # overwriting a value given earlier.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--database",
        metavar="PATH_OR_URL",
        default=argparse.SUPPRESS,
        help="library file or database URL (default: $LORA_DESKTOP_DATABASE, "
        "$DATABASE_URL, else the per-user library)",
    )
    common.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS,
        help="print the contract's JSON shapes (errors as problem details on stderr)",
    )
    return common


def _adapter_fields(p: argparse.ArgumentParser, *, with_name: bool = True) -> None:
    if with_name:
        p.add_argument("--name", help="the name used in the <lora:name:weight> token")
    p.add_argument("--version", dest="adapter_version", metavar="VERSION", help="free text")
    p.add_argument("--tag", action="append", dest="tags", metavar="TAG", help="repeat for several")
    p.add_argument(
        "--trigger-word", action="append", dest="trigger_words", metavar="WORD", help="repeat"
    )
    p.add_argument("--weight", type=float, help="default weight in the token (-10..10)")


def build_parser() -> argparse.ArgumentParser:
    """Return the parser; ``command`` is None when no command is given (the window opens)."""
    common = _common()
    parser = argparse.ArgumentParser(
        prog="lora-desktop",
        description="LoRA Desk: with no command, open the window; with one, run it and exit.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"lora-desktop {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help_text, description=help_text, parents=[common])

    p = command("add", "register LoRA files or folders (folders recursively)")
    p.add_argument("paths", nargs="+", metavar="PATH")
    _adapter_fields(p)
    p.add_argument("--active", action="store_true", help="activate what is added")

    p = command("list", "list adapters")
    state = p.add_mutually_exclusive_group()
    state.add_argument("--active", dest="active", action="store_const", const=True)
    state.add_argument("--inactive", dest="active", action="store_const", const=False)
    p.add_argument("--tag")
    p.add_argument("--search", metavar="TEXT", help="words to find in name, tags, version")
    p.add_argument("--missing", action="store_true", help="only adapters whose file is missing")
    p.add_argument("--deleted", action="store_true", help="include soft-deleted adapters")
    p.add_argument("--base-model", metavar="LABEL", help="e.g. 'SDXL 1.0', 'Pony' (any case)")
    p.add_argument(
        "--duplicates", action="store_true", help="list groups of adapters with the same content"
    )
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--offset", type=int, default=0)
    p.add_argument("--order-by", default="compose", choices=ORDER_BY_CHOICES, metavar="FIELD")

    p = command("show", "show one adapter")
    p.add_argument("ref", metavar="ID_OR_NAME")

    p = command("edit", "change an adapter's fields (only those given)")
    p.add_argument("ref", metavar="ID_OR_NAME")
    _adapter_fields(p)
    p.add_argument("--ordinal", type=int)
    p.add_argument("--no-ordinal", action="store_true", help="clear the ordinal")
    p.add_argument("--archetype")
    p.add_argument("--archetype-confidence", type=float, metavar="0..1")
    p.add_argument("--notes")

    p = command("rm", "soft-delete an adapter (restore brings it back)")
    p.add_argument("ref", metavar="ID_OR_NAME")
    p = command("restore", "restore a soft-deleted adapter")
    p.add_argument("ref", metavar="ID")

    p = command("activate", "add an adapter to the compose stack")
    p.add_argument("ref", metavar="ID_OR_NAME")
    p.add_argument("--ordinal", type=int)
    p.add_argument(
        "--confirm-dangerous", action="store_true", help="activate a pickle flagged dangerous"
    )
    p = command("deactivate", "remove an adapter from the compose stack")
    p.add_argument("ref", metavar="ID_OR_NAME")
    p = command("reorder", "put these adapters first, in this order")
    p.add_argument("refs", nargs="+", metavar="ID_OR_NAME")

    p = command("compose", "compose the prompt from the active adapters")
    p.add_argument("--prefix", default="")
    p.add_argument("--suffix", default="")
    p.add_argument("--format", dest="template", default=None, metavar="TEMPLATE")
    p.add_argument("--no-trigger-words", action="store_true")
    p.add_argument("--copy", action="store_true", help="also put the prompt on the clipboard")
    p.add_argument("--deliver", metavar="TARGET", help="send the prompt to this target")
    p.add_argument("--wait", action="store_true", help="with --deliver: wait for the job's end")

    p = command("deliver", "deliver a prompt (the composed one by default) and wait for it")
    how = p.add_mutually_exclusive_group(required=True)
    how.add_argument("--mode", choices=("http", "cli"))
    how.add_argument("--target", metavar="NAME", help="a stored target (see: targets list)")
    p.add_argument("--url", help="for --mode http")
    p.add_argument("--header", action="append", default=[], metavar="NAME:VALUE")
    p.add_argument("--prompt", help="deliver this text instead of the composed prompt")
    p.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS")
    p.add_argument("--attempts", type=int, default=3, help="tries for transient failures")
    p.add_argument("argv", nargs="*", metavar="-- PROGRAM ARG", help="for --mode cli")

    p = command("jobs", "list the newest jobs; jobs ID | jobs retry|cancel ID | jobs resume")
    p.add_argument("words", nargs="*", metavar="[retry|cancel] ID")
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--status", choices=("pending", "running", "succeeded", "failed", "cancelled"))

    inspect_commands.add_parsers(command)
    delivery_commands.add_parsers(command)
    folder_commands.add_parsers(command)
    command("health", "check the library")
    return parser
