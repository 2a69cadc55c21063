"""Shared test set-up: offscreen Qt, a temporary library per test, no user settings touched."""

from __future__ import annotations

import os

# Before any QApplication exists: tests never need a display.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Iterator
from pathlib import Path

import pytest

from lora_desktop.models.schemas import AdapterOut
from lora_desktop.services.library import Library, open_library


@pytest.fixture(autouse=True)
def _isolated_environment(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keep every test away from the user's library, data and settings folders."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    monkeypatch.delenv("LORA_DESKTOP_DATABASE", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Where the test's library file lives (a real file: tests may cross threads)."""
    return tmp_path / "db" / "library.sqlite3"


@pytest.fixture
def library(db_path: Path) -> Iterator[Library]:
    """An open, empty library on a temporary SQLite file."""
    lib = open_library(db_path)
    try:
        yield lib
    finally:
        lib.close()


@pytest.fixture
def lora_dir(tmp_path: Path) -> Path:
    """A folder for the test's LoRA files."""
    folder = tmp_path / "loras"
    folder.mkdir()
    return folder


def make_lora(folder: Path, name: str, content: bytes = b"\x00" * 16) -> Path:
    """Write a small file with a LoRA extension (the content is opaque to registration)."""
    path = folder / name
    if path.suffix == "":
        path = path.with_suffix(".safetensors")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def add_adapter(lib: Library, folder: Path, name: str, **fields: object) -> AdapterOut:
    """Register a new file ``<name>.safetensors`` in ``folder`` as ``name``, with ``fields``."""
    from lora_desktop.services.registration import register

    path = make_lora(folder, f"{name}.safetensors", name.encode() + b"\x00" * 8)
    return register(lib, {"file_path": str(path), "name": name, **fields})


def db_snapshot(lib: Library) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every library table, in a stable order: compare two to prove nothing changed."""
    from sqlalchemy import text

    tables = ("adapters", "adapter_tags", "delivery_jobs", "alembic_version")
    with lib.db.engine.connect() as connection:
        return {
            table: sorted(
                (tuple(row) for row in connection.execute(text(f"SELECT * FROM {table}"))), key=repr
            )
            for table in tables
        }


class ScriptedServer:
    """A real HTTP server on 127.0.0.1, in a thread, answering POSTs from a script.

    ``replies`` holds ``(status, headers, body)`` in the order they are given; the
    last one repeats. ``requests`` records each request's path, headers and body.
    A reply with status 0 blocks until ``release`` is set (a runtime that hangs).
    """

    def __init__(self) -> None:
        import http.server
        import threading

        self.replies: list[tuple[int, dict[str, str], bytes]] = [(200, {}, b'{"ok": true}')]
        self.requests: list[dict[str, object]] = []
        self.release = threading.Event()
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                owner.requests.append(
                    {
                        "path": self.path,
                        "headers": dict(self.headers.items()),
                        "body": self.rfile.read(length),
                    }
                )
                index = min(len(owner.requests), len(owner.replies)) - 1
                status, headers, body = owner.replies[index]
                if status == 0:
                    owner.release.wait(30)
                    return
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                """Quiet: the test reads ``requests`` instead."""

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        """The URL of the path ``/generate`` on this server."""
        return f"http://127.0.0.1:{self.server.server_address[1]}/generate"

    def close(self) -> None:
        """Stop serving and free the port."""
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def http_server() -> Iterator[ScriptedServer]:
    """A scripted HTTP runtime on 127.0.0.1, stopped after the test."""
    server = ScriptedServer()
    server.thread.start()
    try:
        yield server
    finally:
        server.close()


def closed_port() -> int:
    """A local TCP port nothing listens on (bound, then released)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
