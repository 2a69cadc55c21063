"""LoRA Desk: a desktop library for LoRA adapter files."""

__version__ = "0.1.0"
