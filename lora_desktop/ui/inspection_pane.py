"""What the app knows about the selected adapter's file, under the detail editor's fields.

The large preview (a drop target), the hashes (full SHA-256, AutoV2, AutoV3),
marks (dangerous with its globals, incomplete, why there is no training metadata), the
sidecar files read and the description, links to duplicates and to same-weights copies,
one-click suggestions for trigger words and tags, and the training metadata table.
Everything from files is plain text.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QFontMetrics, QResizeEvent, QTextLayout
from PySide6.QtWidgets import (
    QGridLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from lora_desktop.models.schemas import AdapterOut, DuplicateGroup
from lora_desktop.services.library import Library
from lora_desktop.ui.inspection_text import (
    description_text,
    facts_text,
    hash_text,
    metadata_toggle_reason,
    sidecar_text,
    state_lines,
)
from lora_desktop.ui.metadata_table import MetadataSection, MetadataTable
from lora_desktop.ui.plain_text import plain_tooltip
from lora_desktop.ui.preview_pane import PreviewPane

log = logging.getLogger(__name__)

CHIP_COLUMNS = 3
CHIP_TEXT_MAX = 40
LINKS_MAX = 20
DESCRIPTION_LINES = 4


def _plain(object_name: str) -> QLabel:
    label = QLabel(objectName=object_name)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setWordWrap(True)
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    return label


def _button_text(text: str) -> str:
    """Button text shown literally: ``&`` is not a mnemonic, long text is shortened."""
    short = text if len(text) <= CHIP_TEXT_MAX else text[: CHIP_TEXT_MAX - 1] + "…"
    return short.replace("&", "&&")


def elide_lines(text: str, font: QFont, width: int, lines: int) -> str:
    """``text`` cut to ``lines`` wrapped lines of ``width`` pixels, the last one elided."""
    layout = QTextLayout(text, font)
    starts = []
    layout.beginLayout()
    while len(starts) <= lines:
        line = layout.createLine()
        if not line.isValid():
            break
        line.setLineWidth(width)
        starts.append(line.textStart())
    layout.endLayout()
    if len(starts) <= lines:
        return text
    last = text[starts[lines - 1] :].replace("\n", " ")
    elided = QFontMetrics(font).elidedText(last + " …", Qt.TextElideMode.ElideRight, width)
    return text[: starts[lines - 1]] + elided


class InspectionPane(QWidget):
    """The file facts of one adapter; emits what the artist accepts or follows."""

    trigger_accepted = Signal(str)
    tag_accepted = Signal(str)
    adapter_link_activated = Signal(str)
    """The id of a duplicate the artist clicked."""

    def __init__(self, library: Library, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("inspectionPane")
        self._library = library
        self._chip_buttons: list[QPushButton] = []
        self.preview = PreviewPane(library)
        self.facts_label = _plain("factsLabel")
        self.hashes_label = _plain("hashesLabel")
        self.hashes_label.setFont(self._mono())
        self.state_label = _plain("inspectionStateLabel")
        self.state_label.setStyleSheet("color: #c0392b;")
        self.sidecars_label = _plain("sidecarsLabel")
        self.description_label = _plain("descriptionLabel")
        self.description_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self._description = ""
        self.links_box = QWidget(objectName="duplicateLinks")
        self._links = QGridLayout(self.links_box)
        self._links.setContentsMargins(0, 0, 0, 0)
        self.suggestions_box = QWidget(objectName="suggestionsBox")
        self._chips = QGridLayout(self.suggestions_box)
        self._chips.setContentsMargins(0, 0, 0, 0)
        self._chips.setHorizontalSpacing(4)
        self._chips.setVerticalSpacing(2)
        self.metadata = MetadataSection()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        # The preview is placed by the editor (above its fields); the rest goes here.
        for widget in (
            self.facts_label,
            self.state_label,
            self.hashes_label,
            self.sidecars_label,
            self.description_label,
            self.links_box,
            self.suggestions_box,
            self.metadata,
        ):
            layout.addWidget(widget)
        self.show_adapter(None)

    def _mono(self) -> QFont:
        font = self.font()
        font.setFamily("monospace")
        font.setStyleHint(font.StyleHint.Monospace)
        return font

    @property
    def metadata_table(self) -> MetadataTable:
        """The training metadata table."""
        return self.metadata.table

    def show_adapter(
        self,
        adapter: AdapterOut | None,
        trigger_words: list[str] | None = None,
        tags: list[str] | None = None,
    ) -> None:
        """Show ``adapter``'s file facts; suggestions already in the fields are left out."""
        self.preview.show_adapter(adapter)
        self._clear(self._links)
        self._clear(self._chips)
        self._chip_buttons = []
        if adapter is None:
            for label in (
                self.facts_label,
                self.hashes_label,
                self.state_label,
                self.sidecars_label,
                self.description_label,
            ):
                label.clear()
                label.setToolTip("")
            self.state_label.hide()
            self._show_description("")
            self.links_box.hide()
            self.suggestions_box.hide()
            self.metadata.show_metadata(None)
            return
        self.facts_label.setText(facts_text(adapter))
        self.facts_label.setVisible(bool(self.facts_label.text()))
        self.hashes_label.setText(hash_text(adapter))
        states = state_lines(adapter)
        self.state_label.setText("\n".join(states))
        self.state_label.setVisible(bool(states))
        sidecars, files = sidecar_text(adapter)
        self.sidecars_label.setText(sidecars)
        self.sidecars_label.setToolTip(plain_tooltip(files))
        self._show_description(description_text(adapter.description))
        self._show_links(adapter)
        self._show_suggestions(adapter, trigger_words or [], tags or [])
        self.metadata.show_metadata(
            adapter.training_metadata, empty=metadata_toggle_reason(adapter)
        )

    def _show_description(self, text: str) -> None:
        # Civitai descriptions run to pages: the label shows a few lines of the flowing
        # text (elided again when the pane is resized); the tooltip has the paragraphs.
        self._description = " ".join(text.split())
        self.description_label.setToolTip(plain_tooltip(text))
        self.description_label.setVisible(bool(text))
        self._elide_description()

    def _elide_description(self) -> None:
        if not self._description:
            self.description_label.clear()
            return
        width = self.description_label.contentsRect().width() or self.width()
        shown = f"Description: {self._description}"
        font = self.description_label.font()
        # A couple of pixels spare: the label may wrap a word sooner than the layout.
        self.description_label.setText(
            elide_lines(shown, font, max(width - 4, 100), DESCRIPTION_LINES)
        )

    def resizeEvent(self, event: QResizeEvent) -> None:
        """QWidget.resizeEvent: the description's lines depend on the width."""
        super().resizeEvent(event)
        self._elide_description()

    # -- duplicates -------------------------------------------------------------

    def _groups(self, adapter: AdapterOut) -> list[DuplicateGroup]:
        if adapter.sha256 is None and adapter.sha256_weights is None:
            return []
        from lora_desktop.services.inspect.library_scan import find_duplicates

        try:
            groups = find_duplicates(self._library)
        except Exception:  # a display aid: never break the editor over it
            log.exception("could not look for duplicates")
            return []
        return [g for g in groups if adapter.id in g.adapter_ids]

    def _show_links(self, adapter: AdapterOut) -> None:
        row = 0
        groups = self._groups(adapter)
        # An exact copy has the same metadata too: it is listed as a duplicate only.
        copies = {i for g in groups if g.kind == "same_file" for i in g.adapter_ids}
        for group in groups:
            others = [
                (i, n)
                for i, n in zip(group.adapter_ids, group.names, strict=True)
                if i != adapter.id and (group.kind == "same_file" or i not in copies)
            ][:LINKS_MAX]
            if not others:
                continue
            same_file = group.kind == "same_file"
            title = QLabel(
                "Duplicate (same SHA-256) of:"
                if same_file
                else "Same weights, different metadata (AutoV3 " + group.hash + "):"
            )
            title.setTextFormat(Qt.TextFormat.PlainText)
            title.setObjectName("duplicateMark" if same_file else "sameWeightsMark")
            self._links.addWidget(title, row, 0, 1, CHIP_COLUMNS)
            row += 1
            for n, (other_id, name) in enumerate(others):
                button = QPushButton(_button_text(name))
                button.setObjectName("duplicateLink" if same_file else "sameWeightsLink")
                button.setFlat(True)
                button.setProperty("adapterId", other_id)
                button.setToolTip("Select this adapter")
                button.clicked.connect(
                    lambda _checked=False, i=other_id: self.adapter_link_activated.emit(i)
                )
                self._links.addWidget(button, row + n // CHIP_COLUMNS, n % CHIP_COLUMNS)
            row += (len(others) + CHIP_COLUMNS - 1) // CHIP_COLUMNS
        self.links_box.setVisible(row > 0)

    # -- suggestions ------------------------------------------------------------

    def _show_suggestions(self, adapter: AdapterOut, words: list[str], tags: list[str]) -> None:
        have_words = {w.lower() for w in words}
        have_tags = {t.lower() for t in tags}
        triggers = [c for c in adapter.trigger_candidates if c.word.lower() not in have_words]
        tag_words = [
            c.word
            for c in adapter.trigger_candidates
            if c.source == "tag_frequency" and c.word.lower() not in have_tags and "," not in c.word
        ]
        row = 0
        for title, items, kind in (
            ("Trigger word suggestions (click to add):", [c.word for c in triggers], "trigger"),
            ("Tag suggestions (click to add):", tag_words, "tag"),
        ):
            if not items:
                continue
            label = QLabel(title)
            label.setTextFormat(Qt.TextFormat.PlainText)
            self._chips.addWidget(label, row, 0, 1, CHIP_COLUMNS)
            row += 1
            sources = {c.word: c for c in adapter.trigger_candidates}
            for n, word in enumerate(items):
                chip = QPushButton("+ " + _button_text(word))
                chip.setObjectName(f"{kind}Suggestion")
                self._chip_buttons.append(chip)
                chip.setProperty("word", word)
                source = sources.get(word)
                tip = f"From {source.source}" if source else ""
                if source is not None and source.count is not None:
                    tip += f" ({source.count} images)"
                chip.setToolTip(tip)
                chip.clicked.connect(
                    lambda _checked=False, w=word, k=kind, c=chip: self._accept(k, w, c)
                )
                self._chips.addWidget(chip, row + n // CHIP_COLUMNS, n % CHIP_COLUMNS)
            row += (len(items) + CHIP_COLUMNS - 1) // CHIP_COLUMNS
        self.suggestions_box.setVisible(row > 0)

    def _accept(self, kind: str, word: str, chip: QPushButton) -> None:
        chip.setEnabled(False)
        if kind == "trigger":
            self.trigger_accepted.emit(word)
        else:
            self.tag_accepted.emit(word)

    def chips(self, kind: str) -> list[QPushButton]:
        """The suggestion buttons of ``kind`` (``trigger`` or ``tag``), in order."""
        return [w for w in self._chip_buttons if w.objectName() == f"{kind}Suggestion"]

    @staticmethod
    def _clear(layout: QGridLayout) -> None:
        while layout.count():
            item = layout.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.hide()
                widget.deleteLater()
