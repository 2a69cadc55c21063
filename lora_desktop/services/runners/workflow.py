"""Preparing a ComfyUI API-format workflow: a LoraLoader chain and the prompt text.

An API-format workflow maps node ids to ``{"class_type", "inputs"}``; an input
that links to another node's output is ``[node_id, output_index]``. The chain
goes between the checkpoint loader and everything that used its MODEL (output
0) and CLIP (output 1)::

    CheckpointLoaderSimple ─MODEL/CLIP→ LoraLoader(1) → … → LoraLoader(n) ─→ consumers
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

CHECKPOINT_LOADERS = frozenset({"CheckpointLoaderSimple", "CheckpointLoader"})
TEXT_ENCODERS = frozenset({"CLIPTextEncode"})
MODEL_OUT, CLIP_OUT = 0, 1


class WorkflowError(ValueError):
    """The workflow cannot be prepared; the message says what to fix in it."""


@dataclass(frozen=True)
class LoraLink:
    """One adapter to load: the file name ComfyUI knows it by, and its weight."""

    lora_name: str
    weight: float


def _nodes(workflow: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(workflow, dict) or not workflow:
        raise WorkflowError("the workflow must be ComfyUI's API format (Export (API))")
    for node_id, node in workflow.items():
        if not isinstance(node, dict) or "class_type" not in node:
            raise WorkflowError(
                f"node {node_id!r} has no class_type: export the workflow in API format"
            )
        node.setdefault("inputs", {})
    return workflow


def _checkpoint(nodes: dict[str, dict[str, Any]]) -> str:
    found = [i for i, n in nodes.items() if n["class_type"] in CHECKPOINT_LOADERS]
    if len(found) != 1:
        what = "no" if not found else f"{len(found)}"
        raise WorkflowError(
            f"the workflow has {what} checkpoint loader (CheckpointLoaderSimple); it needs one"
        )
    return found[0]


def _new_ids(nodes: dict[str, Any], count: int) -> list[str]:
    numeric = [int(i) for i in nodes if str(i).isdigit()]
    start = max(numeric, default=0) + 1
    return [str(start + k) for k in range(count)]


def _is_link(value: Any, node_id: str, output: int) -> bool:
    return (
        isinstance(value, list)
        and len(value) == 2
        and str(value[0]) == node_id
        and value[1] == output
    )


def _text_nodes(nodes: dict[str, dict[str, Any]], role: str) -> list[str]:
    """The text-encoder nodes feeding the samplers' ``role`` input (positive/negative)."""
    found: list[str] = []
    for node in nodes.values():
        link = node["inputs"].get(role)
        if isinstance(link, list) and len(link) == 2:
            source = str(link[0])
            target = nodes.get(source)
            if target and target["class_type"] in TEXT_ENCODERS and source not in found:
                found.append(source)
    return found


def prepare(
    workflow: Any, loras: list[LoraLink], prompt: str, negative_prompt: str | None = None
) -> dict[str, Any]:
    """A copy of ``workflow`` with the LoraLoader chain inserted and the prompt filled.

    Raises:
        WorkflowError: not API format, no single checkpoint loader, or no
            CLIPTextEncode feeding a sampler's ``positive`` input.
    """
    nodes = _nodes(copy.deepcopy(workflow))
    checkpoint = _checkpoint(nodes)
    positive = _text_nodes(nodes, "positive")
    if not positive:
        raise WorkflowError("no CLIPTextEncode node feeds a sampler's positive input")
    for node_id in positive:
        nodes[node_id]["inputs"]["text"] = prompt
    if negative_prompt:
        for node_id in _text_nodes(nodes, "negative"):
            nodes[node_id]["inputs"]["text"] = negative_prompt
    if not loras:
        return nodes
    consumers = list(nodes.items())
    model: list[Any] = [checkpoint, MODEL_OUT]
    clip: list[Any] = [checkpoint, CLIP_OUT]
    for node_id, lora in zip(_new_ids(nodes, len(loras)), loras, strict=True):
        nodes[node_id] = {
            "class_type": "LoraLoader",
            "inputs": {
                "model": model,
                "clip": clip,
                "lora_name": lora.lora_name,
                "strength_model": lora.weight,
                "strength_clip": lora.weight,
            },
            "_meta": {"title": f"LoRA Desk: {lora.lora_name}"},
        }
        model, clip = [node_id, MODEL_OUT], [node_id, CLIP_OUT]
    for _node_id, node in consumers:
        inputs = node["inputs"]
        for key, value in list(inputs.items()):
            if _is_link(value, checkpoint, MODEL_OUT):
                inputs[key] = list(model)
            elif _is_link(value, checkpoint, CLIP_OUT):
                inputs[key] = list(clip)
    return nodes
