"""Where the library lives and how we talk to it: one engine, one session per unit of work.

SQLite gets WAL, foreign keys and a busy timeout on every connection, and write
units begin with ``BEGIN IMMEDIATE``: the sqlite3 driver's deferred transactions
fail with "database is locked" when two read-then-write units race, busy
timeout or not, because a reader cannot upgrade to a writer while another
writer is waiting.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import platformdirs
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)

APP_NAME = "lora-desktop"
DEFAULT_FILE_NAME = "library.sqlite3"
BUSY_TIMEOUT_MS = 10_000
WRITE_OPTION = "lora_desktop_write"
CHECKPOINT_INTERVAL_S = 0.5
"""How often background checkpoints copy the write-ahead log into the file."""
PAGE_SIZE = 8192
"""SQLite page size of a new library file, in bytes."""


class StoreError(Exception):
    """The library cannot be opened: a bad location, a newer schema, a foreign file."""

    def __init__(self, title: str, detail: str) -> None:
        super().__init__(detail)
        self.title = title
        self.detail = detail


def default_database_path() -> Path:
    """Return the embedded default library: a SQLite file in the per-user data folder."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / DEFAULT_FILE_NAME


def resolve_database_url(
    option: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> str:
    """Pick the database: the option, else ``LORA_DESKTOP_DATABASE``, else ``DATABASE_URL``,
    else the per-user default. A plain path becomes a SQLite URL.

    Raises:
        StoreError: the value is neither a usable path nor a database URL.
    """
    env = os.environ if environ is None else environ
    value: str | os.PathLike[str] | None = option
    if value is None or str(value) == "":
        value = env.get("LORA_DESKTOP_DATABASE") or env.get("DATABASE_URL") or None
    if value is None:
        return sqlite_url(default_database_path())
    text = os.fspath(value)
    if "://" in text:
        try:
            make_url(text)
        except ArgumentError as exc:
            raise StoreError("Bad database URL", f"{text!r} is not a database URL: {exc}") from exc
        return text
    return sqlite_url(Path(text).expanduser())


def sqlite_url(path: Path) -> str:
    """Return the SQLite URL of a file path (made absolute)."""
    return f"sqlite:///{path.absolute()}"


def sqlite_path(url: str) -> Path | None:
    """Return the file of a SQLite URL, or None for another database or an in-memory one."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def check_sqlite_location(path: Path) -> None:
    """Refuse a SQLite location that is a folder or that cannot be written.

    Raises:
        StoreError: with a message that says what to fix.
    """
    if path.is_dir():
        raise StoreError(
            "Database path is a folder",
            f"{path} is a folder; give the path of a database file, "
            f"e.g. {path / DEFAULT_FILE_NAME}",
        )
    if path.exists():
        if not os.access(path, os.R_OK | os.W_OK):
            raise StoreError(
                "Database not writable",
                f"{path} cannot be read and written by this user; fix its permissions",
            )
        return
    parent = path.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(
            "Database folder cannot be created",
            f"cannot create the folder {parent}: {exc.strerror or exc}",
        ) from exc
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise StoreError(
            "Database folder not writable",
            f"cannot create a database in {parent}: the folder is not writable",
        )


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event, not the driver, decide how transactions begin.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        # Only a new, empty file takes it (before WAL is on); a library keeps the page
        # size it was made with. An adapter's training metadata is ~2 KiB: a 4 KiB page
        # holds one such row, half empty, where 8 KiB pages hold three. Registering
        # 10,000 files wrote 48 MB instead of 35 and took ~10% longer.
        cursor.execute(f"PRAGMA page_size = {PAGE_SIZE}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
    finally:
        cursor.close()


def _on_sqlite_begin(connection: Any) -> None:
    immediate = connection.get_execution_options().get(WRITE_OPTION, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def create_library_engine(url: str) -> Engine:
    """Create the app's one engine for ``url``, SQLite set up as described above.

    Raises:
        StoreError: a SQLite file location that cannot be used.
    """
    path = sqlite_path(url)
    if path is not None:
        check_sqlite_location(path)
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _on_sqlite_connect)
        event.listen(engine, "begin", _on_sqlite_begin)
        return engine
    shown = make_url(url).render_as_string(hide_password=True)
    try:
        return create_engine(url, pool_pre_ping=True)
    except ImportError as exc:
        raise StoreError(
            "Database driver not installed",
            f"cannot use {shown}: its database driver is not installed ({exc})",
        ) from exc
    except ArgumentError as exc:
        raise StoreError("Bad database URL", f"cannot use {shown}: {exc}") from exc


class Database:
    """The library's engine and its units of work: ``read()`` and ``write()``.

    Any thread may call these; each call gets its own session.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._read = sessionmaker(engine, expire_on_commit=False)
        self._write = sessionmaker(
            engine.execution_options(**{WRITE_OPTION: True}), expire_on_commit=False
        )
        self._checkpointer: threading.Thread | None = None
        self._stop_checkpoints = threading.Event()
        self._written = threading.Event()  # a write unit committed: checkpoint soon

    def start_checkpoints(self, interval: float = CHECKPOINT_INTERVAL_S) -> bool:
        """Copy the write-ahead log into the SQLite file from a background thread.

        Otherwise SQLite does it in whichever commit takes the log past 1,000 pages,
        and that commit (a drag's order, a batch of hash results) takes tens of
        milliseconds longer. Here a passive checkpoint (it never waits for readers
        or writers) follows each write unit, so the log rarely reaches that size; the
        automatic one stays as a backstop. For a long-running process (the window);
        False, nothing started, for a server database or if already running.
        """
        if self.path is None or self._checkpointer is not None:
            return False
        self._stop_checkpoints.clear()
        self._checkpointer = threading.Thread(
            target=self._checkpoint_loop, args=(interval,), name="wal-checkpoint", daemon=True
        )
        self._checkpointer.start()
        return True

    def _checkpoint_loop(self, interval: float) -> None:
        while True:
            self._written.wait(interval)  # right after a commit, else now and then
            self._written.clear()
            if self._stop_checkpoints.is_set():
                return
            try:
                with self.engine.connect() as connection:
                    connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
            except Exception:  # a busy or vanished file: the next turn tries again
                log.debug("background checkpoint failed", exc_info=True)

    @property
    def checkpointing(self) -> bool:
        """Whether background checkpoints run."""
        return self._checkpointer is not None and self._checkpointer.is_alive()

    @property
    def url(self) -> str:
        """The database URL with any password hidden."""
        return self.engine.url.render_as_string(hide_password=True)

    @property
    def path(self) -> Path | None:
        """The SQLite file, or None for a server database."""
        return sqlite_path(self.engine.url.render_as_string(hide_password=False))

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading; whatever it did is rolled back at the end."""
        with self._read() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A unit of work: committed if the block ends normally, rolled back otherwise."""
        with self._write() as session, session.begin():
            yield session
        if self._checkpointer is not None:
            self._written.set()

    def dispose(self) -> None:
        """Stop background checkpoints, close every pooled connection."""
        if self._checkpointer is not None:
            self._stop_checkpoints.set()
            self._written.set()
            self._checkpointer.join(timeout=5)
            self._checkpointer = None
        self.engine.dispose()
