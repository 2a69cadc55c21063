"""A static scan of pickle files: nothing is ever unpickled or imported.

``.pt``, ``.ckpt``, ``.pth`` and ``.bin`` files are read as opcode streams with
``pickletools.genops`` (which never calls ``find_class``), both plain pickles (and
the legacy PyTorch layout of five pickles in a row) and PyTorch zip archives
(every ``*.pkl`` member); the oldest PyTorch layout, a tar archive, is not
followed. Each global the stream would import is collected; anything outside
the allow-list below, or any stream the scanner cannot follow (a global whose
name is computed, an extension code, a broken stream, the time or size caps
reached), makes the file **dangerous**. An allow-list, unlike the
deny-lists of picklescan and others, has no payload it misses by default.
"""

from __future__ import annotations

import logging
import os
import pickletools
import tarfile
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO

from lora_desktop.services.inspect.header_json import HeaderError
from lora_desktop.services.inspect.safetensors_header import open_regular

log = logging.getLogger(__name__)

ALLOWED = frozenset(
    {
        "collections.OrderedDict",
        "torch._utils._rebuild_tensor",
        "torch._utils._rebuild_tensor_v2",
        "torch._utils._rebuild_tensor_v3",
        "torch._utils._rebuild_parameter",
        "torch._utils._rebuild_parameter_with_state",
        "torch._utils._rebuild_meta_tensor_no_storage",
        "torch._tensor._rebuild_from_type_v2",
        "torch.nn.parameter.Parameter",
        "torch.Tensor",
        "torch.Size",
        "torch.device",
        "torch.serialization._get_layout",
        *(
            f"torch.{kind}Storage"
            for kind in (
                "Float",
                "Half",
                "BFloat16",
                "Double",
                "Long",
                "Int",
                "Short",
                "Char",
                "Byte",
                "Bool",
                "Untyped",
            )
        ),
        *(
            f"torch.{dtype}"
            for dtype in (
                "float16",
                "float32",
                "float64",
                "bfloat16",
                "int8",
                "int16",
                "int32",
                "int64",
                "uint8",
                "bool",
            )
        ),
        "numpy.core.multiarray._reconstruct",
        "numpy.core.multiarray.scalar",
        "numpy._core.multiarray._reconstruct",
        "numpy._core.multiarray.scalar",
        "numpy.ndarray",
        "numpy.dtype",
        "_codecs.encode",
    }
)
"""Globals a plain tensor checkpoint needs, and nothing that runs code."""
ARCHIVE_MAX = 64 * 1024**3
MEMBERS_MAX = 100_000
CENTRAL_DIRECTORY_MAX = MEMBERS_MAX * 160
"""Largest zip table of contents parsed: ``MEMBERS_MAX`` entries with names of about 100
characters (``zipfile`` holds all of it in memory, about 0.5 KB an entry)."""
_EOCD_SIZE = 22
PICKLE_MEMBER_MAX = 256 * 1024 * 1024
SCAN_SECONDS_MAX = 20.0
MEMO_MAX = 1_000_000
"""Memo entries followed per pickle (a checkpoint memoizes a few per tensor); past this
a stream is unscannable rather than a growing table (about 100 bytes an entry)."""
LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PICKLES = 5
_STRING_OPS = frozenset(
    {"SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE", "STRING", "BINSTRING"}
)
_STRING_OPS |= {"SHORT_BINSTRING"}
_NEUTRAL_OPS = frozenset(
    {"BINGET", "LONG_BINGET", "GET", "BINPUT", "LONG_BINPUT", "PUT", "MEMOIZE", "FRAME", "PROTO"}
)


class Unfollowable(Exception):
    """The stream can't be followed statically: treat it as dangerous."""


@dataclass
class PickleVerdict:
    """What the scan found.

    Attributes:
        globals: every ``module.name`` the file would import, sorted.
        offending: those outside the allow-list, plus why a stream couldn't be followed.
    """

    globals: list[str] = field(default_factory=list)
    offending: list[str] = field(default_factory=list)

    @property
    def dangerous(self) -> bool:
        """True when loading the file could run code."""
        return bool(self.offending)


def _globals_of(stream: IO[bytes], deadline: float) -> tuple[set[str], bool]:
    """The globals of one pickle stream, and whether it holds the legacy magic number.

    The magic is looked for in every integer the stream pushes, not only its first
    value: a pickle can reach the same value after other opcodes (``None``, pop, then
    the magic), and ``torch.load`` would then unpickle the four pickles after it.
    """
    found: set[str] = set()
    # The two values on top of the stack when they are string constants, else None:
    # all STACK_GLOBAL needs (kept as two names, not a list: memory stays bounded).
    below: str | None = None
    top: str | None = None
    memo: dict[int, str | None] = {}
    magic = False
    try:
        for count, (opcode, arg, _pos) in enumerate(pickletools.genops(stream)):
            if count & 0x3FF == 0 and time.monotonic() > deadline:
                raise Unfollowable("the scan took too long")
            name = opcode.name
            if type(arg) is int and arg == LEGACY_MAGIC:
                magic = True
            if name in _STRING_OPS:
                below, top = top, arg if isinstance(arg, str) else None
            elif name in ("BINPUT", "LONG_BINPUT", "PUT", "MEMOIZE"):
                memo[len(memo) if name == "MEMOIZE" else int(str(arg))] = top
                if len(memo) > MEMO_MAX:
                    raise Unfollowable(f"more than {MEMO_MAX:,} memoized values")
            elif name in ("BINGET", "LONG_BINGET", "GET"):
                below, top = top, memo.get(int(str(arg)))
            elif name in ("GLOBAL", "INST"):
                module, _, attr = str(arg).partition(" ")
                found.add(f"{module}.{attr}")
            elif name == "STACK_GLOBAL":
                if below is None or top is None:
                    raise Unfollowable("a global whose name is computed (STACK_GLOBAL)")
                found.add(f"{below}.{top}")
            elif name in ("EXT1", "EXT2", "EXT4"):
                raise Unfollowable(f"an extension-registry global ({name})")
            if name not in _STRING_OPS and name not in _NEUTRAL_OPS:
                below, top = top, None
    except Unfollowable:
        raise
    except Exception as exc:  # genops raises ValueError and friends on a broken stream
        raise Unfollowable(f"the pickle stream is malformed ({exc})") from None
    return found, magic


def _plain_pickles(stream: IO[bytes], size: int, deadline: float) -> Iterator[set[str]]:
    """A plain pickle, or the five pickles of the legacy PyTorch format.

    After a first pickle holding the legacy magic come four more (protocol, system
    info, the object, storage keys), then raw storage bytes. Without the magic, what
    follows the first pickle is scanned as further pickles too (up to as many), so a
    second pickle hidden after the first is never left unread.
    """
    found, legacy = _globals_of(stream, deadline)
    yield found
    for _ in range(LEGACY_PICKLES - 1):
        if not legacy and stream.tell() >= size:
            return
        yield _globals_of(stream, deadline)[0]


def _is_tar(head: bytes) -> bool:
    """Whether the first 512 bytes are a tar header (``torch.load`` tries tar first)."""
    try:
        tarfile.TarInfo.frombuf(head[:512], "utf-8", "surrogateescape")
    except tarfile.HeaderError:
        return False
    return True


def _central_directory_size(handle: IO[bytes], size: int) -> int:
    """The size of a zip archive's table of contents, as ``zipfile`` would read it.

    From the end-of-central-directory record in the last 64 KiB (and the ZIP64 record
    right before it, when there is one); 0 when none is found (``zipfile`` then says
    the archive is broken).
    """
    tail_size = min(size, _EOCD_SIZE + 0xFFFF)
    handle.seek(size - tail_size)
    tail = handle.read(tail_size)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0:
        return 0
    central = int.from_bytes(tail[at + 12 : at + 16], "little")
    locator = at - 20
    if locator >= 56 and tail[locator : locator + 4] == b"PK\x06\x07":
        record = tail[locator - 56 : locator]
        if record[:4] == b"PK\x06\x06":
            central = int.from_bytes(record[40:48], "little")
    return central


def _archive_pickles(handle: IO[bytes], size: int, deadline: float) -> Iterator[set[str]]:
    """Every ``*.pkl`` member of the zip archive open as ``handle``.

    The open file is read, never its path again (it may have been replaced by a pipe
    since), and its table of contents is measured before ``zipfile`` parses all of it
    into memory.
    """
    central = _central_directory_size(handle, size)
    if central > CENTRAL_DIRECTORY_MAX:
        raise Unfollowable(f"the archive's table of contents is too large ({central:,} bytes)")
    handle.seek(0)
    with zipfile.ZipFile(handle) as archive:
        members = archive.infolist()
        if len(members) > MEMBERS_MAX:
            raise Unfollowable(f"the archive has too many members ({len(members):,})")
        pickles = [m for m in members if m.filename.endswith(".pkl")]
        if not pickles:
            raise Unfollowable("the archive holds no pickle to check")
        for member in pickles:
            if member.file_size > PICKLE_MEMBER_MAX:
                raise Unfollowable(f"{member.filename} is too large to check")
            with archive.open(member) as stream:
                yield _globals_of(stream, deadline)[0]


def scan_pickle_file(path: str) -> PickleVerdict:
    """Scan a pickle or PyTorch checkpoint without loading it. Never raises for bad content.

    Raises:
        HeaderError: the file cannot be opened (missing, not a regular file).
    """
    fd, st = open_regular(path)
    verdict = PickleVerdict()
    deadline = time.monotonic() + SCAN_SECONDS_MAX
    found: set[str] = set()
    with os.fdopen(fd, "rb") as handle:
        head = handle.read(512)
        handle.seek(0)
        try:
            if head.startswith(b"PK\x03\x04"):
                if st.st_size > ARCHIVE_MAX:
                    raise Unfollowable("the archive is too large to check")
                for names in _archive_pickles(handle, st.st_size, deadline):
                    found |= names
            elif _is_tar(head):
                raise Unfollowable("a tar archive (PyTorch's oldest format), which is not checked")
            else:
                for names in _plain_pickles(handle, st.st_size, deadline):
                    found |= names
        except Unfollowable as exc:
            verdict.offending.append(f"(unscannable: {exc})")
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            verdict.offending.append(f"(unscannable: {exc})")
    verdict.globals = sorted(found)
    verdict.offending = sorted(found - ALLOWED) + verdict.offending
    if verdict.dangerous:
        log.warning("%s would import %s", path, ", ".join(verdict.offending))
    return verdict


__all__ = ["ALLOWED", "HeaderError", "PickleVerdict", "scan_pickle_file"]
