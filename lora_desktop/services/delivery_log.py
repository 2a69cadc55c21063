"""Structured delivery events, and the rotating log file they go to.

Each event is one log record on the ``lora_desktop.deliveries`` logger whose
message reads ``delivery.completed job=… duration_ms=…`` and whose ``event``
attribute holds the same fields as a dict. ``setup_delivery_log`` (called by
the app at start-up, never at import) writes them as JSON lines to a rotating
file in the user log folder. Callers pass ids, modes, target names, counts and
already scrubbed error text: never settings, headers or prompts.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
from pathlib import Path
from typing import Any

import platformdirs

EVENTS_LOGGER = "lora_desktop.deliveries"
LOG_FILE = "deliveries.log"
MAX_BYTES = 1024 * 1024
BACKUPS = 5

events = logging.getLogger(EVENTS_LOGGER)


def event(name: str, job_id: str, **fields: Any) -> None:
    """Log one delivery event (``delivery.enqueued`` …) with the job id and ``fields``."""
    data = {"event": name, "job": job_id, **{k: v for k, v in fields.items() if v is not None}}
    text = " ".join(f"{k}={v}" for k, v in data.items() if k != "event")
    events.info("%s %s", name, text, extra={"event": data})


class JsonLines(logging.Formatter):
    """One JSON object per record: time, level, and the event's fields (or the message)."""

    def format(self, record: logging.LogRecord) -> str:
        """Overrides ``logging.Formatter.format``."""
        data: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
        }
        fields = getattr(record, "event", None)
        if isinstance(fields, dict):
            data.update(fields)
        else:
            data["message"] = record.getMessage()
        return json.dumps(data, ensure_ascii=False, default=str)


def default_log_dir() -> Path:
    """The per-user log folder (platformdirs)."""
    return Path(platformdirs.user_log_dir("lora-desktop", appauthor=False))


def setup_delivery_log(folder: Path | None = None) -> Path:
    """Send delivery events to ``folder/deliveries.log`` (rotating, 1 MiB × 5); return its path.

    Calling it again with the same folder adds no second handler.
    """
    path = (folder or default_log_dir()) / LOG_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    for handler in events.handlers:
        if (
            isinstance(handler, logging.handlers.RotatingFileHandler)
            and Path(handler.baseFilename) == path.resolve()
        ):
            return path
    handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8"
    )
    handler.setFormatter(JsonLines())
    events.addHandler(handler)
    events.setLevel(logging.INFO)
    return path


def close_delivery_log() -> None:
    """Remove and close the file handlers ``setup_delivery_log`` added."""
    for handler in list(events.handlers):
        if isinstance(handler, logging.handlers.RotatingFileHandler):
            events.removeHandler(handler)
            handler.close()
