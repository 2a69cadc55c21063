"""Generate a synthetic LoRA library shaped like real ones (issue 4's benchmark input).

Each file is a real safetensors file written by hand (8-byte little-endian length,
JSON header, tensor data) with SDXL-LoRA-like tensor names: about 2,000 entries and
a header of about 230 KiB, kohya-style ``__metadata__`` (every value a string,
``ss_tag_frequency`` / ``ss_datasets`` as JSON inside strings). Tensor shapes are
tiny so 10,000 files fit on a disk (the header, not the data, is what registration
reads); ``--big`` adds a few large files for hashing. Some files get sidecars
(``.civitai.info``, A1111 ``.json``) and small PNG previews.

    .venv/bin/python benchmarks/synth_library.py /tmp/synth --count 10000 --big 8 --big-mb 100
"""

from __future__ import annotations

import argparse
import json
import os
import random
import struct
import zlib
from pathlib import Path

BLOCKS = (
    [f"input_blocks_{i}_1" for i in (4, 5, 7, 8)]
    + [f"output_blocks_{i}_1" for i in range(6)]
    + ["middle_block_1"]
)
LAYERS = [
    "attn1_to_k",
    "attn1_to_q",
    "attn1_to_v",
    "attn1_to_out_0",
    "attn2_to_k",
    "attn2_to_q",
    "attn2_to_v",
    "attn2_to_out_0",
    "ff_net_0_proj",
    "ff_net_2",
]
TAGS = [f"tag{i}" for i in range(150)] + ["1girl", "solo", "red hair", "smile", "outdoors"]


def tensor_names(count: int = 2000) -> list[str]:
    """SDXL LoRA-like tensor names (down, up, alpha per module) until ``count``."""
    names: list[str] = []
    block = 0
    while len(names) < count:
        for base in BLOCKS:
            for layer in LAYERS:
                module = f"lora_unet_{base}_transformer_blocks_{block}_{layer}"
                names += [
                    f"{module}.lora_down.weight",
                    f"{module}.lora_up.weight",
                    f"{module}.alpha",
                ]
        block += 1
    return names[:count]


def kohya_metadata(index: int, rng: random.Random) -> dict[str, str]:
    """kohya-style metadata, every value a string."""
    freq = {
        f"{rng.randint(1, 20)}_tok{index} woman": {
            t: rng.randint(1, 80) for t in rng.sample(TAGS, 60)
        },
        f"5_tok{index} style": {t: rng.randint(1, 30) for t in rng.sample(TAGS, 30)},
    }
    datasets = [
        {
            "subsets": [
                {
                    "class_tokens": f"tok{index} woman",
                    "image_dir": f"10_tok{index} woman",
                    "num_repeats": 10,
                }
            ],
            "resolution": [1024, 1024],
        }
    ]
    return {
        "ss_output_name": f"lora_{index}",
        "ss_base_model_version": rng.choice(["sdxl_base_v1-0", "sd_v1", "flux1"]),
        "ss_sd_model_name": rng.choice(["sd_xl_base_1.0.safetensors", "ponyV6.safetensors"]),
        "ss_network_module": "networks.lora",
        "ss_network_dim": "32",
        "ss_network_alpha": "16.0",
        "ss_resolution": "(1024, 1024)",
        "ss_learning_rate": "0.0001",
        "ss_num_epochs": "10",
        "ss_cache_latents": "True",
        "ss_clip_skip": "None",
        "ss_tag_frequency": json.dumps(freq),
        "ss_datasets": json.dumps(datasets),
        "sshs_model_hash": "0" * 64,
    }


def write_lora(path: Path, metadata: dict[str, str], names: list[str], big: int = 0) -> None:
    """Write one safetensors file; ``big`` > 0 makes its last tensor that many bytes."""
    header: dict[str, object] = {"__metadata__": metadata}
    offset = 0
    for i, name in enumerate(names):
        shape = [1, 4] if not (big and i == len(names) - 1) else [big // 2]
        size = shape[0] * (shape[1] if len(shape) > 1 else 1) * 2
        header[name] = {"dtype": "F16", "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    raw = json.dumps(header, separators=(", ", ": ")).encode()
    raw += b" " * (-len(raw) % 8)
    with path.open("wb") as handle:
        handle.write(struct.pack("<Q", len(raw)) + raw)
        left = offset
        block = os.urandom(1 << 20)
        while left > 0:
            handle.write(block[: min(left, len(block))])
            left -= len(block)


def png(path: Path) -> None:
    """A tiny valid PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    raw = b"".join(b"\x00" + b"\x80\x20\x20" * 8 for _ in range(8))
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def generate(root: Path, count: int, big: int = 0, big_mb: int = 100, seed: int = 4) -> None:
    """Write ``count`` LoRAs (100 per folder) and ``big`` large ones under ``root``."""
    rng = random.Random(seed)
    names = tensor_names()
    for i in range(count):
        folder = root / "small" / f"f{i // 100:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"lora_{i:05d}.safetensors"
        if path.exists():
            continue
        write_lora(path, kohya_metadata(i, rng), names)
        if i % 3 == 0:
            (folder / f"lora_{i:05d}.civitai.info").write_text(
                json.dumps(
                    {
                        "trainedWords": [f"tok{i}"],
                        "baseModel": "SDXL 1.0",
                        "model": {"name": f"Civitai {i}"},
                        "files": [{"hashes": {"SHA256": "0" * 64}}],
                    }
                )
            )
        if i % 5 == 0:
            (folder / f"lora_{i:05d}.json").write_text(
                json.dumps(
                    {
                        "activation text": f"tok{i} woman",
                        "preferred weight": 0.8,
                        "sd version": "SDXL",
                    }
                )
            )
        if i % 2 == 0:
            png(folder / f"lora_{i:05d}.preview.png")
    for i in range(big):
        folder = root / "big"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"big_{i:02d}.safetensors"
        if not path.exists():
            write_lora(path, kohya_metadata(i, rng), names, big=big_mb * 2**20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--big", type=int, default=0, help="large files for hashing")
    parser.add_argument("--big-mb", type=int, default=100)
    args = parser.parse_args()
    generate(args.root, args.count, args.big, args.big_mb)
    print(f"library at {args.root}")


if __name__ == "__main__":
    main()
