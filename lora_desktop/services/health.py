"""Whether the library answers, and what it holds."""

from __future__ import annotations

from sqlalchemy import func, select

from lora_desktop import __version__
from lora_desktop.models.migrate import current_revision
from lora_desktop.models.schemas import Health
from lora_desktop.models.tables import DeliveryJob
from lora_desktop.services.adapters import counts
from lora_desktop.services.library import Library


def health(lib: Library) -> Health:
    """Return the library's health: schema revision and record counts."""
    numbers = counts(lib)
    with lib.db.read() as session:
        pending = session.scalar(
            select(func.count()).where(DeliveryJob.status.in_(("pending", "running")))
        )
    return Health(
        status="ok",
        version=__version__,
        database=lib.db.url,
        schema_revision=current_revision(lib.db.engine),
        pending_jobs=pending or 0,
        **numbers,
    )
