"""Composing the prompt from the active adapters (the contract's rules).

The rules, in order: candidates are the live, active adapters; they are sorted
by ordinal (none last), then name, then id; identical content (same SHA-256)
yields one token with the highest weight, at the first one's place; each token
comes from the template, the weight written with at most 3 decimals; the
prompt is prefix, tokens and suffix joined by single spaces, empty parts
skipped. With ``include_trigger_words``, an adapter's trigger words follow its
token, joined by ", ".
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, true

from lora_desktop.models.schemas import ORDINAL_MAX, ComposeRequest, ComposeResult, DeliveryRef
from lora_desktop.models.tables import Adapter
from lora_desktop.services.convert import validate
from lora_desktop.services.errors import ValidationFailed
from lora_desktop.services.library import Library

PLACEHOLDERS = frozenset({"name", "weight"})
ORDINAL_LAST = ORDINAL_MAX + 1
"""Sorts an adapter without ordinal after every one with one."""


@dataclass(frozen=True)
class Candidate:
    """What composition needs of one active adapter, already in compose order."""

    name: str
    weight: float
    sha256: str | None = None
    trigger_words: tuple[str, ...] = ()
    file_status: str = "ok"


def format_weight(weight: float) -> str:
    """Write a weight with at most 3 decimals, trailing zeros dropped: 0.75, 1, 0.333, -0.5."""
    text = f"{round(weight, 3):.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def check_template(template: str) -> None:
    """Refuse a template without ``{name}`` or with anything but ``{name}``/``{weight}``.

    Raises:
        ValidationFailed: on the field ``template``.
    """
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValidationFailed.field("template", f"is not a valid template: {exc}") from exc
    fields = set()
    for _literal, field, spec, conversion in parsed:
        if field is None:
            continue
        if field not in PLACEHOLDERS or spec or conversion:
            shown = (
                "{"
                + field
                + (f"!{conversion}" if conversion else "")
                + (f":{spec}" if spec else "")
                + "}"
            )
            raise ValidationFailed.field(
                "template", f"unknown placeholder {shown}; use only {{name}} and {{weight}}"
            )
        fields.add(field)
    if "name" not in fields:
        raise ValidationFailed.field("template", "must contain {name}")


def compose_candidates(
    candidates: Sequence[Candidate],
    *,
    prefix: str = "",
    suffix: str = "",
    template: str = "<lora:{name}:{weight}>",
    include_trigger_words: bool = True,
) -> tuple[str, list[str], list[str]]:
    """Compose from candidates already in order; return (prompt, tokens, warnings).

    Raises:
        ValidationFailed: a bad template.
    """
    check_template(template)
    warnings: list[str] = []
    kept: list[Candidate] = []
    by_hash: dict[str, int] = {}
    for cand in candidates:
        if cand.file_status != "ok":
            warnings.append(f"{cand.name}: its file is {cand.file_status}")
        if cand.sha256 and cand.sha256 in by_hash:
            index = by_hash[cand.sha256]
            first = kept[index]
            winner = first if first.weight >= cand.weight else cand
            kept[index] = Candidate(
                name=first.name,
                weight=winner.weight,
                sha256=first.sha256,
                trigger_words=first.trigger_words,
                file_status=first.file_status,
            )
            warnings.append(
                f"{cand.name} has the same content as {first.name}: one token kept, "
                f"weight {format_weight(winner.weight)}"
            )
            continue
        if cand.sha256:
            by_hash[cand.sha256] = len(kept)
        kept.append(cand)
    tokens = [template.format(name=c.name, weight=format_weight(c.weight)) for c in kept]
    parts: list[str] = [prefix.strip()]
    for cand, token in zip(kept, tokens, strict=True):
        parts.append(token)
        if include_trigger_words and cand.trigger_words:
            parts.append(", ".join(cand.trigger_words))
    parts.append(suffix.strip())
    if not kept:
        warnings.append("no active adapters: the prompt has no LoRA tokens")
    return " ".join(p for p in parts if p), tokens, warnings


def active_candidates(lib: Library) -> list[Candidate]:
    """The live, active adapters in compose order."""
    with lib.db.read() as session:
        rows = session.execute(
            select(
                Adapter.name,
                Adapter.weight,
                Adapter.sha256,
                Adapter.trigger_words,
                Adapter.file_status,
            )
            .where(Adapter.deleted_at.is_(None), Adapter.active == true())
            # The compose order, written so that no index can serve it: the planner then
            # picks the active-adapters index (a handful of rows, sorted) instead of
            # walking the whole compose-order index to find them.
            .order_by(func.coalesce(Adapter.ordinal, ORDINAL_LAST), Adapter.name, Adapter.id)
        )
        return [
            Candidate(r.name, r.weight, r.sha256, tuple(r.trigger_words or ()), r.file_status)
            for r in rows
        ]


def compose(
    lib: Library, request: ComposeRequest | dict[str, object] | None = None
) -> ComposeResult:
    """Compose the prompt from the active adapters; enqueue a delivery if one is asked for.

    Raises:
        ValidationFailed: a bad template or delivery request.
    """
    req = validate(ComposeRequest, request or {})
    prompt, tokens, warnings = compose_candidates(
        active_candidates(lib),
        prefix=req.prefix,
        suffix=req.suffix,
        template=req.template,
        include_trigger_words=req.include_trigger_words,
    )
    delivery = None
    if req.delivery is not None:
        # Imported here: the delivery runners pull in httpx, which the window's
        # first paint (which composes) does not need.
        from lora_desktop.services.deliveries import enqueue

        job = enqueue(lib, req.delivery, default_prompt=prompt)
        delivery = DeliveryRef(id=job.id, status=job.status)
    return ComposeResult(prompt=prompt, tokens=tokens, warnings=warnings, delivery=delivery)
