"""Render the main window on a small demo library to resources/screenshots/main-window.png.

Usage: QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshot.py [OUTPUT.png]

The demo library is built from real (tiny) files in a temporary folder, with
tags, trigger words and weights, some adapters active; the user's settings and
library are not touched.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QColor, QImage, QLinearGradient, QPainter
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from lora_desktop.services import adapters
from lora_desktop.services.library import open_library
from lora_desktop.services.registration import register_many
from lora_desktop.ui.main_window import build_main_window

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = ROOT / "resources" / "screenshots" / "main-window.png"

DEMO = [
    # name, tags, trigger words, weight, active
    ("watercolor_wash_v2", ["style", "painting"], ["watercolor", "wet on wet"], 0.7, True),
    ("ink_lineart", ["style", "lineart"], ["ink lineart"], 0.55, True),
    ("soft_rim_light", ["lighting"], ["rim light"], 0.4, True),
    ("cyberpunk_city", ["background", "scifi"], ["neon city"], 0.8, False),
    ("studio_ghibli_sky", ["background", "anime"], ["painted sky"], 0.65, False),
    ("detail_tweaker", ["utility"], [], 0.3, False),
    ("film_grain_35mm", ["photo", "texture"], ["film grain"], 0.5, False),
    ("pixel_art_16bit", ["style", "pixel"], ["pixel art"], 1.0, False),
    ("oil_impasto", ["style", "painting"], ["impasto"], 0.75, False),
    ("fantasy_armor", ["clothing", "fantasy"], ["ornate armor"], 0.9, False),
    ("isometric_rooms", ["background"], ["isometric room"], 0.6, False),
    ("golden_hour", ["lighting", "photo"], ["golden hour"], 0.45, False),
]


def demo_preview(index: int) -> QImage:
    """A small painted picture standing in for a LoRA's sample image (a sidecar preview)."""
    image = QImage(256, 256, QImage.Format.Format_RGB32)
    hue = (index * 47) % 360
    gradient = QLinearGradient(0, 0, 256, 256)
    gradient.setColorAt(0.0, QColor.fromHsv(hue, 140, 250))
    gradient.setColorAt(1.0, QColor.fromHsv((hue + 60) % 360, 200, 120))
    painter = QPainter(image)
    painter.fillRect(image.rect(), gradient)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setBrush(QColor.fromHsv((hue + 180) % 360, 90, 255, 200))
    painter.setPen(Qt.PenStyle.NoPen)
    painter.drawEllipse(60 + index * 7 % 60, 70, 120, 120)
    painter.end()
    return image


def build_demo(folder: Path) -> Path:
    """Create the demo files and library; return the database file."""
    files = folder / "loras"
    files.mkdir()
    for index, (name, *_) in enumerate(DEMO):
        (files / f"{name}.safetensors").write_bytes(b"\x00" * 64)
        demo_preview(index).save(str(files / f"{name}.preview.png"))
    database = folder / "library.sqlite3"
    library = open_library(database)
    try:
        register_many(library, [files])
        rows = {r.name: r.id for r in adapters.list_rows(library)}
        active = []
        for name, tags, words, weight, is_active in DEMO:
            patch = {"tags": tags, "trigger_words": words, "weight": weight}
            if name == "watercolor_wash_v2":
                patch |= {"version": "2.1", "archetype": "style", "archetype_confidence": 0.92}
                patch["notes"] = "Loose washes; keep the weight under 0.8 for faces."
            adapters.update_adapter(library, rows[name], patch)
            if is_active:
                active.append(rows[name])
                adapters.activate(library, rows[name])
        adapters.reorder(library, active)
    finally:
        library.close()
    return database


def main(argv: list[str]) -> int:
    """Build the demo, render the window, save the PNG."""
    output = Path(argv[1]) if len(argv) > 1 else DEFAULT_OUTPUT
    with tempfile.TemporaryDirectory(prefix="lora-desk-shot-") as tmp:
        folder = Path(tmp)
        QSettings.setDefaultFormat(QSettings.Format.IniFormat)
        QSettings.setPath(
            QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder / "settings")
        )
        app = QApplication(argv[:1])
        database = build_demo(folder)
        window = build_main_window(database)
        window.resize(1280, 860)
        window.compose_panel.prefix_edit.setText("masterpiece, best quality, a lighthouse at dusk")
        window.compose_panel.suffix_edit.setText("highly detailed")
        window.show()
        window.select_adapter(window.model.row_at(0).id)
        window.compose_panel.refresh()
        # Thumbnails and the preview are decoded on pool threads, and the demo files
        # are hashed in the background: show the window once that work is done.
        for _ in range(100):
            QTest.qWait(100)
            if not window.inspection.hashing.busy:
                break
        # Offscreen, nothing repaints by itself: render once so the visible rows ask
        # for their thumbnails, let the pool decode them, then take the picture.
        window.grab()
        QTest.qWait(1500)
        window.grab()
        QTest.qWait(500)
        output.parent.mkdir(parents=True, exist_ok=True)
        if not window.grab().save(str(output)):
            print(f"could not write {output}", file=sys.stderr)
            return 1
        window.close()
        app.processEvents()
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
