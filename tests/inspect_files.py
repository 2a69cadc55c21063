"""Real files for the file-inspection tests: safetensors written by hand, kohya metadata."""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path
from typing import Any

DTYPE_SIZES = {"F16": 2, "F32": 4, "BF16": 2}


def header_bytes(
    tensors: dict[str, tuple[str, list[int]]], metadata: dict[str, Any] | None
) -> tuple[bytes, int]:
    """The JSON header (``__metadata__`` first, as writers do) and the data size it describes."""
    header: dict[str, Any] = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    offset = 0
    for name, (dtype, shape) in tensors.items():
        size = math.prod(shape) * DTYPE_SIZES[dtype]
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)  # padded to 8 bytes, like the reference writer
    return raw, offset


def write_safetensors(
    path: Path,
    metadata: dict[str, Any] | None = None,
    tensors: dict[str, tuple[str, list[int]]] | None = None,
    *,
    data: bytes | None = None,
) -> Path:
    """Write a real safetensors file: 8-byte little-endian length, JSON, tensor data."""
    if tensors is None:
        tensors = {
            "lora_unet_a.lora_down.weight": ("F16", [4, 8]),
            "lora_unet_a.alpha": ("F16", []),
        }
    raw, size = header_bytes(tensors, metadata)
    if data is None:
        data = bytes(range(256)) * (size // 256) + bytes(size % 256)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data)
    return path


def raw_file(path: Path, claimed: int, body: bytes) -> Path:
    """A file whose length field claims ``claimed`` bytes, followed by ``body``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(struct.pack("<Q", claimed) + body)
    return path


def kohya_metadata(**overrides: str) -> dict[str, str]:
    """kohya-style ``__metadata__``: every value a string, JSON inside some."""
    meta = {
        "ss_output_name": "redhair_v2",
        "ss_base_model_version": "sdxl_base_v1-0",
        "ss_sd_model_name": "sd_xl_base_1.0.safetensors",
        "ss_network_module": "networks.lora",
        "ss_network_dim": "32",
        "ss_network_alpha": "16.0",
        "ss_resolution": "(1024, 1024)",
        "ss_num_epochs": "10",
        "ss_cache_latents": "True",
        "ss_clip_skip": "None",
        "ss_tag_frequency": json.dumps(
            {
                "10_ohwx woman": {"red hair": 40, "smile": 12, "1girl": 50},
                "5_ohwx woman": {"red hair": 20, "outdoors": 30},
            }
        ),
        "ss_datasets": json.dumps(
            [{"subsets": [{"class_tokens": "ohwx woman", "image_dir": "/train/10_ohwx woman"}]}]
        ),
    }
    meta.update(overrides)
    return meta
