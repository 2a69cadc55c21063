"""Printing results: the contract's JSON with ``--json``, readable text otherwise."""

from __future__ import annotations

import json
import sys
from typing import Any

from pydantic import BaseModel

from lora_desktop.models.schemas import AdapterOut, DeliveryJobOut


def to_json(value: Any) -> str:
    """Serialise a DTO, a list of DTOs or plain data as indented JSON."""
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    elif isinstance(value, list):
        value = [v.model_dump(mode="json") if isinstance(v, BaseModel) else v for v in value]
    return json.dumps(value, indent=2, ensure_ascii=False)


def emit_json(value: Any) -> None:
    """Print ``value`` as JSON on stdout."""
    print(to_json(value))


def adapter_line(a: AdapterOut) -> str:
    """One line per adapter: id, state, weight, name, tags."""
    state = "deleted" if a.deleted_at else ("active" if a.active else "-")
    if a.file_status != "ok":
        state += f",{a.file_status}"
    order = "" if a.ordinal is None else f"#{a.ordinal}"
    tags = ", ".join(a.tags)
    return f"{a.id[:8]}  {state:<8} {order:>5} {a.weight:>6g}  {a.name}" + (
        f"  [{tags}]" if tags else ""
    )


def adapter_text(a: AdapterOut) -> str:
    """Every field of an adapter, one per line."""
    rows = [
        ("id", a.id),
        ("name", a.name),
        ("version", a.version or ""),
        ("file", a.file_path),
        ("file status", a.file_status),
        ("weight", f"{a.weight:g}"),
        ("active", "yes" if a.active else "no"),
        ("ordinal", "" if a.ordinal is None else str(a.ordinal)),
        ("tags", ", ".join(a.tags)),
        ("trigger words", ", ".join(a.trigger_words)),
        ("archetype", a.archetype or ""),
        (
            "confidence",
            "" if a.archetype_confidence is None else f"{a.archetype_confidence:g}",
        ),
        ("sha256", a.sha256 or "(not hashed yet)"),
        ("autov2/autov3", f"{a.autov2 or '-'} / {a.autov3 or '-'}"),
        ("title", a.title or ""),
        ("base model", a.base_model or ""),
        (
            "network",
            " ".join(
                str(v)
                for v in (a.network_module, a.network_dim, a.network_alpha, a.resolution)
                if v is not None
            ),
        ),
        ("suggestions", ", ".join(c.word for c in a.trigger_candidates)),
        ("metadata", "indexed" if a.metadata_indexed else "not indexed"),
        ("preview", a.preview_path or ""),
        ("problems", a.inspect_error or ""),
        ("notes", a.notes),
        ("created", a.created_at.isoformat()),
        ("updated", a.updated_at.isoformat()),
    ]
    if a.deleted_at:
        rows.append(("deleted", a.deleted_at.isoformat()))
    if a.incomplete:
        rows.append(("incomplete", "yes: truncated or still downloading; checked again later"))
    if a.dangerous:
        rows.append(("DANGEROUS", "loading it would import " + ", ".join(a.dangerous_globals)))
    return "\n".join(f"{k + ':':<15}{v}" for k, v in rows)


def job_text(j: DeliveryJobOut) -> str:
    """A delivery job, readable."""
    lines = [
        f"job {j.id}: {j.status} ({j.mode}, {j.attempts} attempt{'s' if j.attempts != 1 else ''})"
    ]
    if j.error:
        lines.append(f"error: {j.error}")
    if j.result:
        for key in ("status_code", "exit_code"):
            if key in j.result:
                lines.append(f"{key.replace('_', ' ')}: {j.result[key]}")
        for key in ("stdout", "stderr", "text"):
            if j.result.get(key):
                lines.append(f"{key}:\n{str(j.result[key]).rstrip()}")
        if "json" in j.result:
            lines.append("reply: " + json.dumps(j.result["json"], ensure_ascii=False)[:2000])
    return "\n".join(lines)


def problem(details: dict[str, Any], as_json: bool) -> None:
    """Print a problem-details object on stderr."""
    if as_json:
        print(json.dumps(details, indent=2, ensure_ascii=False), file=sys.stderr)
        return
    print(f"lora-desktop: {details['title']}: {details['detail']}", file=sys.stderr)
