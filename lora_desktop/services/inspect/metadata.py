"""What the training metadata says: title, base model, network, resolution, trigger words.

kohya writes every value as a string: ``"True"``, ``"None"``, numbers, and JSON
inside strings (``ss_tag_frequency``, ``ss_datasets``, ``ss_dataset_dirs``). Values
that don't parse are ignored one by one; nothing here raises.
"""

from __future__ import annotations

import heapq
import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from lora_desktop.services.inspect.header_json import escaped_lone_surrogate

log = logging.getLogger(__name__)

CANDIDATES_MAX = 20
TAG_CANDIDATES_MAX = 10
JSON_VALUE_MAX = 4 * 1024 * 1024
"""A JSON-in-a-string value longer than this is not parsed (bounded work per file)."""
_FOLDER = re.compile(r"^\s*(\d+)_(.+)$")
_NUMBER = re.compile(r"\d+")


@dataclass(frozen=True)
class Candidate:
    """One suggested trigger word and where it came from."""

    word: str
    source: str
    count: int | None = None

    def as_json(self) -> dict[str, Any]:
        """The stored shape: ``{"word", "source"[, "count"]}``."""
        out: dict[str, Any] = {"word": self.word, "source": self.source}
        if self.count is not None:
            out["count"] = self.count
        return out


@dataclass(frozen=True)
class Derived:
    """Fields derived from ``__metadata__`` (None when the metadata doesn't say)."""

    title: str | None = None
    base_model: str | None = None
    network_module: str | None = None
    network_dim: int | None = None
    network_alpha: float | None = None
    resolution: str | None = None
    trigger_phrase: str | None = None
    candidates: list[Candidate] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def kohya_value(value: str | None) -> str | None:
    """A kohya string value, None for ``""``, ``"None"`` and ``"null"``."""
    if value is None:
        return None
    value = value.strip()
    return None if value in ("", "None", "null") else value


def kohya_json(meta: dict[str, str], key: str, problems: list[str]) -> Any:
    """The JSON inside a kohya string value; None (and a problem noted) if it isn't JSON."""
    value = kohya_value(meta.get(key))
    if value is None:
        return None
    if len(value) > JSON_VALUE_MAX:
        problems.append(f"{key} is too large to read ({len(value):,} characters)")
        return None
    try:
        decoded = json.loads(value)
    except (ValueError, RecursionError):
        problems.append(f"{key} is not valid JSON; ignored")
        return None
    lone = escaped_lone_surrogate(value, decoded)
    if lone is not None:  # a suggestion holding it could be neither stored nor shown
        problems.append(f"{key} holds an escaped lone surrogate ({lone}), not text; ignored")
        return None
    return decoded


def _int(value: str | None) -> int | None:
    value = kohya_value(value)
    try:
        return None if value is None else int(float(value))
    except (ValueError, OverflowError):
        return None


def _float(value: str | None) -> float | None:
    value = kohya_value(value)
    try:
        number = None if value is None else float(value)
    except ValueError:
        return None
    return number if number is not None and number == number and abs(number) < 1e12 else None


_LABELS: tuple[tuple[str, str], ...] = (
    ("pony", "Pony"),
    ("illustrious", "Illustrious"),
    ("noob", "NoobAI"),
    ("flux-1-schnell", "Flux.1 S"),
    ("flux1-schnell", "Flux.1 S"),
    ("schnell", "Flux.1 S"),
    ("flux", "Flux.1 D"),
    ("sd3", "SD 3"),
    ("stable-diffusion-v3", "SD 3"),
    ("sdxl", "SDXL 1.0"),
    ("stable-diffusion-xl", "SDXL 1.0"),
    ("sd_xl", "SDXL 1.0"),
    ("sd-xl", "SDXL 1.0"),
    ("sd_v2", "SD 2.x"),
    ("stable-diffusion-v2", "SD 2.x"),
    ("v2-1", "SD 2.x"),
    ("sd_v1", "SD 1.5"),
    ("stable-diffusion-v1", "SD 1.5"),
    ("v1-5", "SD 1.5"),
    ("sd15", "SD 1.5"),
    ("sd 1.5", "SD 1.5"),
)
FAMILIES = frozenset({"Pony", "Illustrious", "NoobAI"})
"""SDXL fine-tune families: their LoRAs say ``sdxl`` in ``ss_base_model_version``."""


def base_model_label(raw: str | None) -> str | None:
    """A short label (``SD 1.5``, ``SDXL 1.0``, ``Pony``, ``Flux.1 D``…) or the raw value."""
    raw = kohya_value(raw)
    if raw is None:
        return None
    lowered = raw.lower()
    for needle, label in _LABELS:
        if needle in lowered:
            return label
    return raw[:100]


def base_model(meta: dict[str, str]) -> str | None:
    """The base model, trusting ``ss_base_model_version``, ``modelspec.architecture``, then
    ``ss_sd_model_name``. A generic ``SDXL 1.0`` is refined to a fine-tune family
    (Pony, Illustrious, NoobAI) when the checkpoint's name says so."""
    sources = ("ss_base_model_version", "modelspec.architecture", "ss_sd_model_name")
    chosen = None
    for key in sources:  # the first that says something (no label work for the rest)
        chosen = base_model_label(meta.get(key))
        if chosen:
            break
    if chosen == "SDXL 1.0":
        family = base_model_label(meta.get("ss_sd_model_name"))
        if family in FAMILIES:
            return family
    return chosen


def _resolution(meta: dict[str, str]) -> str | None:
    for key in ("modelspec.resolution", "ss_resolution"):
        value = kohya_value(meta.get(key))
        if not value:
            continue
        numbers = _NUMBER.findall(value)
        if len(numbers) == 1:
            return f"{numbers[0]}x{numbers[0]}"
        if len(numbers) == 2:
            return f"{numbers[0]}x{numbers[1]}"
    return None


def folder_token(folder: str) -> str | None:
    """The token of a kohya folder name ``<repeats>_<token> <class>`` (None if not one)."""
    match = _FOLDER.match(folder.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1])
    if match is None:
        return None
    words = match.group(2).split()
    return words[0] if words else None


def _datasets(meta: dict[str, str], problems: list[str]) -> tuple[list[str], list[str]]:
    """(class tokens, folder names) from ``ss_datasets`` and ``ss_dataset_dirs``."""
    tokens: list[str] = []
    folders: list[str] = []
    datasets = kohya_json(meta, "ss_datasets", problems)
    for dataset in datasets if isinstance(datasets, list) else []:
        subsets = dataset.get("subsets") if isinstance(dataset, dict) else None
        for subset in subsets if isinstance(subsets, list) else []:
            if not isinstance(subset, dict):
                continue
            if isinstance(subset.get("class_tokens"), str):
                tokens.append(subset["class_tokens"])
            if isinstance(subset.get("image_dir"), str):
                folders.append(subset["image_dir"])
    dirs = kohya_json(meta, "ss_dataset_dirs", problems)
    if isinstance(dirs, dict):
        folders.extend(str(k) for k in dirs)
    return tokens, folders


def tag_counts(meta: dict[str, str], problems: list[str]) -> tuple[dict[str, int], list[str]]:
    """Tag counts summed over every folder of ``ss_tag_frequency``, and the folder names.

    A plain dict and exact type checks: this runs for every file registered.
    """
    counts: dict[str, int] = {}
    frequency = kohya_json(meta, "ss_tag_frequency", problems)
    if not isinstance(frequency, dict):
        if frequency is not None:
            problems.append("ss_tag_frequency is not an object; ignored")
        return counts, []
    get = counts.get
    for tags in frequency.values():
        if type(tags) is not dict:
            continue
        for tag, count in tags.items():
            if type(count) is int or type(count) is float:
                counts[tag] = get(tag, 0) + int(count)
    return counts, [str(k) for k in frequency]


def trigger_candidates(meta: dict[str, str], problems: list[str] | None = None) -> list[Candidate]:
    """The ranked trigger-word suggestions of ``__metadata__``.

    ``modelspec.trigger_phrase``, then ``class_tokens`` of ``ss_datasets``, then the
    token of kohya folder names, then the most frequent tags of ``ss_tag_frequency``.
    Bulk registration leaves this to the hash pass (it parses JSON inside strings).
    """
    problems = [] if problems is None else problems
    phrase = kohya_value(meta.get("modelspec.trigger_phrase"))
    ranked: list[Candidate] = []
    if phrase:
        ranked.append(Candidate(phrase, "modelspec.trigger_phrase"))
    class_tokens, folders = _datasets(meta, problems)
    ranked.extend(Candidate(t, "class_tokens") for t in class_tokens)
    counts, tag_folders = tag_counts(meta, problems)
    for folder in [*folders, *tag_folders]:
        token = folder_token(folder)
        if token:
            ranked.append(Candidate(token, "folder"))
    # Twice as many as shown: some may repeat an earlier candidate and be dropped.
    top = heapq.nlargest(TAG_CANDIDATES_MAX * 2, counts, key=counts.__getitem__)
    top.sort(key=lambda tag: (-counts[tag], tag))
    ranked.extend(Candidate(tag, "tag_frequency", counts[tag]) for tag in top)
    seen: set[str] = set()
    candidates: list[Candidate] = []
    tags_left = TAG_CANDIDATES_MAX
    for candidate in ranked:
        word = " ".join(candidate.word.split())[:500]
        if not word or word.lower() in seen:
            continue
        if candidate.source == "tag_frequency":
            if not tags_left:
                break
            tags_left -= 1
        seen.add(word.lower())
        candidates.append(Candidate(word, candidate.source, candidate.count))
    return candidates[:CANDIDATES_MAX]


def derive(meta: dict[str, str], *, candidates: bool = True) -> Derived:
    """Everything issue 4 derives from ``__metadata__``.

    ``candidates=False`` skips the trigger-word suggestions (and the problems only
    they find): bulk registration, where the hash pass derives them later.
    """
    problems: list[str] = []
    phrase = kohya_value(meta.get("modelspec.trigger_phrase"))
    ranked = trigger_candidates(meta, problems) if candidates else []
    title = kohya_value(meta.get("modelspec.title")) or kohya_value(meta.get("ss_output_name"))
    return Derived(
        title=title[:500] if title else None,
        base_model=base_model(meta),
        network_module=(kohya_value(meta.get("ss_network_module")) or "")[:200] or None,
        network_dim=_int(meta.get("ss_network_dim")),
        network_alpha=_float(meta.get("ss_network_alpha")),
        resolution=_resolution(meta),
        trigger_phrase=phrase[:500] if phrase else None,
        candidates=ranked,
        problems=problems,
    )
