"""Render the app on a small demo library to resources/screenshots/.

Usage: QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshot.py [OUTPUT_FOLDER]

Writes ``main-window.png`` (the whole window) and ``detail-editor.png`` (the detail
editor with its training metadata open). The demo library is built from real, tiny
safetensors files with kohya-style training metadata and preview sidecars in a
temporary folder, registered, hashed in the background as in the app, with tags,
trigger words and weights, some adapters active; the user's settings and library
are not touched.
"""

from __future__ import annotations

import json
import os
import struct
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEventLoop, QSettings, Qt, QTimer
from PySide6.QtGui import QColor, QImage, QLinearGradient, QPainter
from PySide6.QtWidgets import QApplication, QScrollArea, QToolButton, QWidget

from lora_desktop.services import adapters
from lora_desktop.services.library import open_library
from lora_desktop.services.registration import register_many
from lora_desktop.ui.main_window import build_main_window

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = ROOT / "resources" / "screenshots"

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


def demo_safetensors(path: Path, index: int, name: str, words: list[str]) -> None:
    """A real safetensors file: kohya-style ``__metadata__`` and two tiny tensors."""
    tags = {w: 40 - i for i, w in enumerate([*words, "1girl", "solo", "outdoors", "smile"])}
    metadata = {
        "ss_output_name": name,
        "ss_base_model_version": ("sdxl_base_v1-0", "sd_v1")[index % 2],
        "ss_network_module": "networks.lora",
        "ss_network_dim": str(16 * (1 + index % 3)),
        "ss_network_alpha": str(8 * (1 + index % 3)),
        "ss_resolution": ("(1024, 1024)", "(512, 512)")[index % 2],
        "ss_num_epochs": str(8 + index),
        "ss_learning_rate": "0.0001",
        "ss_tag_frequency": json.dumps({f"10_{name} style": tags}),
    }
    data = bytes((index * 31 + i) % 251 for i in range(96))  # each file its own weights
    tensors = {
        "lora_unet_a.lora_down.weight": {"dtype": "F16", "shape": [4, 8], "data_offsets": [0, 64]},
        "lora_unet_a.lora_up.weight": {"dtype": "F16", "shape": [8, 2], "data_offsets": [64, 96]},
    }
    header = json.dumps({"__metadata__": metadata, **tensors}).encode()
    path.write_bytes(struct.pack("<Q", len(header)) + header + data)


def run_events(milliseconds: int, until: object = None) -> None:
    """Run the event loop (never ``QTest.qWait``, which holds the GIL from the pool's
    threads) for ``milliseconds``, or until ``until()`` is true."""
    loop = QEventLoop()
    timer = QTimer()
    timer.setInterval(50)
    timer.timeout.connect(lambda: until is not None and until() and loop.quit())  # type: ignore[operator]
    timer.start()
    QTimer.singleShot(milliseconds, loop.quit)
    loop.exec()
    timer.stop()


def save(widget: QWidget, path: Path) -> bool:
    """Render ``widget`` to ``path``; say what was written or what failed."""
    if not widget.grab().save(str(path)):
        print(f"could not write {path}", file=sys.stderr)
        return False
    print(f"wrote {path}")
    return True


def build_demo(folder: Path) -> Path:
    """Create the demo files and library; return the database file."""
    files = folder / "loras"
    files.mkdir()
    for index, (name, _tags, words, *_) in enumerate(DEMO):
        demo_safetensors(files / f"{name}.safetensors", index, name, words)
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
        # The demo files are hashed in the background, as in the app; thumbnails and the
        # preview are decoded on pool threads: show the window once that work is done.
        # (The app starts that run at the artist's first pause; here, at once.)
        hashing = window.inspection.hashing
        if not hashing.busy:
            hashing.start()
        run_events(20_000, until=lambda: not hashing.busy)
        # Offscreen, nothing repaints by itself: render once so the visible rows ask
        # for their thumbnails, let the pool decode them, then take the pictures.
        window.select_adapter(window.model.row_at(0).id)
        window.grab()
        run_events(1500)
        output.mkdir(parents=True, exist_ok=True)
        if not save(window, output / "main-window.png"):
            return 1
        # The editor's whole content (what its scroll area shows a part of), with the
        # training metadata open.
        toggle = window.editor.findChild(QToolButton, "metadataToggle")
        if toggle is not None and not toggle.isChecked():
            toggle.click()
        scroll = window.editor.findChild(QScrollArea)
        content = scroll.widget() if scroll is not None else window.editor
        content.resize(content.width(), content.sizeHint().height())
        run_events(300)
        if not save(content, output / "detail-editor.png"):
            return 1
        window.close()
        app.processEvents()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
