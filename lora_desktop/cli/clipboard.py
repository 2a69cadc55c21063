"""Putting text on the system clipboard from a command line, through the desktop's own tool.

A command-line process can't own an X11/Wayland selection after it exits, so
we hand the text to the tool that serves it (wl-copy, xclip, xsel, pbcopy, clip).
"""

from __future__ import annotations

import os
import shutil
import subprocess

from lora_desktop.services.errors import DomainError


class ClipboardUnavailable(DomainError):
    """No clipboard tool could take the text."""

    slug = "clipboard-unavailable"
    title = "Clipboard unavailable"


def _candidates() -> list[list[str]]:
    tools = []
    if os.environ.get("WAYLAND_DISPLAY"):
        tools.append(["wl-copy"])
    if os.environ.get("DISPLAY"):
        tools += [["xclip", "-selection", "clipboard"], ["xsel", "--clipboard", "--input"]]
    tools += [["pbcopy"], ["clip.exe"], ["clip"]]
    return tools


def copy_text(text: str) -> str:
    """Copy ``text``; return the tool used.

    Raises:
        ClipboardUnavailable: no display or no clipboard tool installed.
    """
    for argv in _candidates():
        if shutil.which(argv[0]) is None:
            continue
        try:
            subprocess.run(argv, input=text.encode(), check=True, timeout=5)
        except (OSError, subprocess.SubprocessError):
            continue
        return argv[0]
    raise ClipboardUnavailable(
        "no clipboard to copy to: run inside a desktop session with wl-copy, xclip or xsel "
        "installed (the prompt was printed above)"
    )
