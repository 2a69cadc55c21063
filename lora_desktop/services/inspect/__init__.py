"""Knowing each file: safetensors headers, derived metadata, sidecars, hashes, pickle safety.

Nothing here imports Qt or touches the database except ``store`` (and the services
built on it); every reader is bounded and never follows what a file names.
"""
