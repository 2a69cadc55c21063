"""Delivery targets: named delivery configurations stored in the library.

A target holds a mode (``http``, ``cli``, ``a1111``, ``comfyui``) and that mode's
settings, validated by the models in :mod:`lora_desktop.models.delivery`. Header
values may be secrets: they are stored as given and never shown in full.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from pydantic import BaseModel
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from lora_desktop.models.base import utcnow
from lora_desktop.models.delivery import CONFIGS, TargetIn, TargetOut, TargetPatch
from lora_desktop.models.tables import DeliveryTarget
from lora_desktop.services.convert import validate
from lora_desktop.services.errors import Conflict, InvalidParam, NotFound, ValidationFailed
from lora_desktop.services.library import Library

log = logging.getLogger(__name__)

MASK = "***"
SHOW_TAIL_FROM = 16
"""A secret at least this long shows its last 4 characters (to tell tokens apart)."""
URL_USERINFO = re.compile(r"(?<=//)[^/@\s]+@")
URL_SECRET_QUERY = re.compile(
    r"(?i)([?&][^=&\s]*(?:token|key|secret|password|auth)[^=&\s]*=)[^&\s]+"
)


def mask(value: str) -> str:
    """``***``, or ``***`` and the last 4 characters of a long value."""
    return MASK + value[-4:] if len(value) >= SHOW_TAIL_FROM else MASK


def scrub(text: str) -> str:
    """``text`` with credentials in URLs (``user:pass@``, ``?token=``) replaced by ``***``."""
    return URL_SECRET_QUERY.sub(r"\1" + MASK, URL_USERINFO.sub(MASK + "@", text))


def redact(config: dict[str, Any], *, tail: bool = True) -> dict[str, Any]:
    """A copy of a target's or job's settings safe to show or log."""
    shown = dict(config)
    if shown.get("headers"):
        shown["headers"] = {
            k: (mask(str(v)) if tail else MASK) for k, v in dict(shown["headers"]).items()
        }
    for key in ("url", "base_url"):
        if isinstance(shown.get(key), str):
            shown[key] = scrub(shown[key])
    return shown


def target_out(target: DeliveryTarget) -> TargetOut:
    """The contract's view of a target (secrets masked)."""
    return TargetOut(
        id=target.id,
        name=target.name,
        mode=target.mode,
        config=redact(target.config),
        created_at=target.created_at,
        updated_at=target.updated_at,
    )


def _config(mode: str, config: dict[str, Any]) -> dict[str, Any]:
    model: type[BaseModel] = CONFIGS[mode]
    try:
        checked = validate(model, config)
    except ValidationFailed as exc:
        params = [InvalidParam(f"config.{p.name}", p.reason) for p in exc.invalid_params]
        raise ValidationFailed("; ".join(f"{p.name}: {p.reason}" for p in params), params) from exc
    return checked.model_dump(mode="json")


def _find(session: Any, ref: str) -> DeliveryTarget:
    target = session.scalars(
        select(DeliveryTarget).where(or_(DeliveryTarget.id == ref, DeliveryTarget.name == ref))
    ).first()
    if target is None:
        raise NotFound(f"no delivery target with id or name {ref!r}")
    assert isinstance(target, DeliveryTarget)
    return target


def _name_taken(name: str) -> Conflict:
    return Conflict(
        f"a delivery target named {name!r} exists",
        [InvalidParam("name", "already used by another target")],
    )


def create_target(lib: Library, data: TargetIn | dict[str, Any]) -> TargetOut:
    """Store a new target.

    Raises:
        ValidationFailed: a bad name, mode or setting (``config.<setting>``).
        Conflict: the name is taken.
    """
    req = validate(TargetIn, data)
    config = _config(req.mode, req.config)
    try:
        with lib.db.write() as session:
            if session.scalar(select(DeliveryTarget.id).where(DeliveryTarget.name == req.name)):
                raise _name_taken(req.name)
            target = DeliveryTarget(name=req.name, mode=req.mode, config=config)
            session.add(target)
            session.flush()
            out = target_out(target)
    except IntegrityError as exc:  # a concurrent create won the name
        raise _name_taken(req.name) from exc
    log.info("delivery.target_added id=%s name=%s mode=%s", out.id, out.name, out.mode)
    return out


def get_target(lib: Library, ref: str) -> TargetOut:
    """One target by id or name.

    Raises:
        NotFound: no such target.
    """
    with lib.db.read() as session:
        return target_out(_find(session, ref))


def target_settings(lib: Library, ref: str) -> tuple[str, str, str, dict[str, Any]]:
    """A target's id, name, mode and full settings (secrets included: for sending only).

    Raises:
        NotFound: no such target.
    """
    with lib.db.read() as session:
        target = _find(session, ref)
        return target.id, target.name, target.mode, dict(target.config)


def list_targets(lib: Library) -> list[TargetOut]:
    """Every target, by name."""
    with lib.db.read() as session:
        return [target_out(t) for t in session.scalars(select(DeliveryTarget).order_by("name"))]


def update_target(lib: Library, ref: str, patch: TargetPatch | dict[str, Any]) -> TargetOut:
    """Rename a target and/or change settings (merged over the current ones).

    A header value given back masked (as shown) keeps the stored secret.

    Raises:
        NotFound: no such target.
        ValidationFailed: a bad name or setting.
        Conflict: the new name is taken.
    """
    req = validate(TargetPatch, patch)
    try:
        with lib.db.write() as session:
            target = _find(session, ref)
            merged = {**target.config}
            for key, value in req.config.items():
                if value is None:
                    merged.pop(key, None)
                else:
                    merged[key] = value
            old_headers = dict(target.config.get("headers") or {})
            if isinstance(merged.get("headers"), dict):
                merged["headers"] = {
                    k: old_headers[k] if k in old_headers and v == mask(old_headers[k]) else v
                    for k, v in merged["headers"].items()
                }
            config = _config(target.mode, merged)
            if req.name is not None and req.name != target.name:
                taken = session.scalar(
                    select(DeliveryTarget.id).where(DeliveryTarget.name == req.name)
                )
                if taken:
                    raise _name_taken(req.name)
                target.name = req.name
            target.config = config
            target.updated_at = utcnow()
            session.flush()
            out = target_out(target)
    except IntegrityError as exc:
        raise _name_taken(str(req.name)) from exc
    log.info("delivery.target_changed id=%s name=%s", out.id, out.name)
    return out


def delete_target(lib: Library, ref: str) -> TargetOut:
    """Delete a target; its jobs stay (they keep their own copy of the settings).

    Raises:
        NotFound: no such target.
    """
    with lib.db.write() as session:
        target = _find(session, ref)
        out = target_out(target)
        session.delete(target)
    log.info("delivery.target_removed id=%s name=%s", out.id, out.name)
    return out
