"""A throwaway PgBouncer (Debian's package) in transaction mode in front of a PostgreSQL
server, on a free loopback port, with a generated configuration (auth_type=trust).

As a fixture helper: ``with pgbouncer(host, port, directory) as bouncer: bouncer.url(db)``.
As a command, what CI runs — the command with DATABASE_URL moved onto the pooler and
DATABASE_POOLER=pgbouncer, failing unless the pooler served its transactions::

    python -m tests.scale.pgbouncer -- make test PYTEST_ARGS="--reuse-db tests/leads"

(``--reuse-db``: the pooler holds server connections to the test database until it stops,
so pytest-django could not drop it at the end.)
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

BINARY = "/usr/sbin/pgbouncer"
# PgBouncer refuses to run as root; started by root it is told to become this user.
RUN_AS = "postgres"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PgBouncer:
    port: int
    user: str
    directory: Path
    process: subprocess.Popen[bytes]

    def url(self, database: str) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def show(self, what: str) -> list[dict[str, object]]:
        """A ``SHOW <what>`` of the admin console (pools, stats, clients…)."""
        with psycopg.connect(self.url("pgbouncer"), autocommit=True) as admin:
            cursor = admin.execute(f"SHOW {what}")
            names = [column.name for column in cursor.description or []]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def transactions(self, database: str) -> int:
        return sum(
            int(str(row["total_xact_count"]))
            for row in self.show("STATS")
            if row["database"] == database
        )

    def log(self) -> str:
        path = self.directory / "pgbouncer.log"
        return path.read_text(errors="replace") if path.exists() else ""


@contextlib.contextmanager
def pgbouncer(host: str, port: int, user: str = "postgres") -> Iterator[PgBouncer]:
    if not Path(BINARY).exists():
        raise RuntimeError(f"{BINARY} is missing: apt-get install pgbouncer")
    directory = Path(tempfile.mkdtemp(prefix="crm-pgbouncer-"))
    listen = free_port()
    (directory / "users.txt").write_text(f'"{user}" ""\n')
    (directory / "pgbouncer.ini").write_text(
        f"""[databases]
* = host={host} port={port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {listen}
unix_socket_dir =
auth_type = trust
auth_file = {directory}/users.txt
admin_users = {user}
stats_users = {user}
pool_mode = transaction
default_pool_size = 20
max_client_conn = 500
server_reset_query =
ignore_startup_parameters = extra_float_digits
logfile = {directory}/pgbouncer.log
"""
    )
    command = [BINARY, str(directory / "pgbouncer.ini")]
    if os.geteuid() == 0:
        account = pwd.getpwnam(RUN_AS)
        os.chown(directory, account.pw_uid, account.pw_gid)
        for path in directory.iterdir():
            os.chown(path, account.pw_uid, account.pw_gid)
        command[1:1] = ["-u", RUN_AS]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    bouncer = PgBouncer(port=listen, user=user, directory=directory, process=process)
    try:
        deadline = time.monotonic() + 20
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"pgbouncer exited with {process.returncode}:\n{bouncer.log()}")
            try:
                bouncer.show("VERSION")
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield bouncer
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(directory, ignore_errors=True)


def main(argv: list[str]) -> int:
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    upstream = urlsplit(os.environ["DATABASE_URL"])
    with pgbouncer(
        upstream.hostname or "127.0.0.1", upstream.port or 5432, upstream.username or "postgres"
    ) as bouncer:
        pooled = upstream._replace(netloc=f"{bouncer.user}@127.0.0.1:{bouncer.port}")
        env = {**os.environ, "DATABASE_URL": urlunsplit(pooled), "DATABASE_POOLER": "pgbouncer"}
        version = bouncer.show("VERSION")[0]
        print(f"{version['version']} in transaction mode on 127.0.0.1:{bouncer.port}")
        status = subprocess.call(argv, env=env)
        test_database = f"test_{upstream.path.lstrip('/')}"
        served = {
            row["database"]: int(str(row["total_xact_count"])) for row in bouncer.show("STATS")
        }
        print(f"PgBouncer served {served}")
        if status == 0 and not any(
            str(name).startswith(test_database) and count for name, count in served.items()
        ):
            print(f"PgBouncer served no transaction on {test_database}*: the run went around it")
            return 1
        return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
