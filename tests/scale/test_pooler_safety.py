"""What keeps the app safe behind PgBouncer in transaction mode, where each transaction may
run on another server connection: no SQL that leaves session state behind, anywhere in the
project's code, and the settings a pooler needs."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

PACKAGES = ["accounts", "crm", "deals", "leads"]
# A statement that SETs for the session; SET LOCAL, SET CONSTRAINTS and SET TRANSACTION end
# with the transaction (and UPDATE … SET or a function's own SET clause are no statement).
SESSION_SET = re.compile(
    r"^\s*SET\s+(SESSION\s+)?(?!LOCAL\b|CONSTRAINTS\b|TRANSACTION\b)[\w.]+\s*(=|\bTO\b)",
    re.IGNORECASE,
)
SESSION_STATE = [
    (re.compile(r"pg_(try_)?advisory_lock(_shared)?\s*\(", re.I), "session advisory lock"),
    (re.compile(r"set_config\s*\([^)]*,\s*false\s*\)", re.I), "set_config(…, false)"),
    (
        re.compile(
            r"(^|;)\s*(LISTEN\s+\w+\s*($|;)|PREPARE\s+\w+(\s*\([^)]*\))?\s+AS\b"
            r"|DISCARD\s+(ALL|PLANS|SEQUENCES|TEMP)\b|RESET\s+(ALL|[\w.]+)\s*($|;))",
            re.I,
        ),
        "session command",
    ),
    (re.compile(r"\bDECLARE\b[^;]*\bWITH\s+HOLD\b", re.I), "holdable cursor"),
    (re.compile(r"CREATE\s+TEMP(ORARY)?\s+TABLE(?![^;]*ON\s+COMMIT\s+DROP)", re.I), "temp table"),
]


def sql_strings(path: Path) -> list[tuple[int, str]]:
    """Every string literal (and each literal part of an f-string) in a module."""
    found = []
    tree = ast.parse(path.read_text(), str(path))
    parts = {
        id(part)
        for node in ast.walk(tree)
        if isinstance(node, ast.JoinedStr)
        for part in node.values
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in parts:
            found.append((node.lineno, node.value))
        elif isinstance(node, ast.JoinedStr):
            text = "".join(
                str(part.value) if isinstance(part, ast.Constant) else "x" for part in node.values
            )
            found.append((node.lineno, text))
    return found


def session_state_sql(root: Path) -> list[str]:
    problems = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            for line, text in sql_strings(path):
                where = f"{path.relative_to(root)}:{line}"
                if any(SESSION_SET.match(statement) for statement in text.split(";")):
                    problems.append(f"{where}: session SET ({text.strip()[:60]!r})")
                problems += [f"{where}: {what}" for rx, what in SESSION_STATE if rx.search(text)]
    return problems


def test_no_sql_in_the_project_keeps_session_state() -> None:
    assert session_state_sql(settings.BASE_DIR) == []


def test_the_scan_finds_each_kind_of_session_state(tmp_path: Path) -> None:
    package = tmp_path / "crm"
    package.mkdir()
    (package / "bad.py").write_text(
        "def f(cursor, t):\n"
        "    cursor.execute('SET statement_timeout = 5')\n"
        '    cursor.execute("SELECT pg_advisory_lock(42)")\n'
        "    cursor.execute(\"SELECT set_config('jit', 'off', false)\")\n"
        "    cursor.execute(f'CREATE TEMP TABLE {t} (id int)')\n"
        "    cursor.execute('SET LOCAL jit = off')\n"
        "    cursor.execute('SELECT pg_advisory_xact_lock(42)')\n"
        "    cursor.execute('UPDATE t\\nSET a = 1')\n"
        "    cursor.execute('CREATE TEMP TABLE s (id int) ON COMMIT DROP')\n"
        "    cursor.execute('SELECT 1; RESET search_path')\n"
        "    label = 'Prepare the quote as agreed'\n"
    )
    assert [problem.split(": ", 1)[1][:20] for problem in session_state_sql(tmp_path)] == [
        "session SET ('SET st",
        "session advisory loc",
        "set_config(…, false)",
        "temp table",
        "session command",
    ]


def pooler_settings(**env: str) -> str:
    code = (
        "import django; from django.conf import settings; django.setup(); "
        "d = settings.DATABASES['default']; "
        "print(repr(settings.DATABASE_POOLER), d['CONN_MAX_AGE'], "
        "d['DISABLE_SERVER_SIDE_CURSORS'], d['OPTIONS'].get('server_side_binding', False))"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        env={"DJANGO_SETTINGS_MODULE": "crm.settings.local", "PATH": "/usr/bin:/bin", **env},
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def test_behind_pgbouncer_there_are_no_server_side_cursors_and_connections_are_kept() -> None:
    url = "postgresql://crm@127.0.0.1:6432/crm"
    # Behind the pooler: no prepared statements (a transaction may land on another server
    # connection). Straight to PostgreSQL they are on unless turned off.
    assert (
        pooler_settings(DATABASE_URL=url, DATABASE_POOLER="pgbouncer")
        == "'pgbouncer' 600 True False"
    )
    assert pooler_settings(DATABASE_URL=url) == "'' 60 False True"
    assert pooler_settings(DATABASE_URL=url, DATABASE_PREPARED_STATEMENTS="0") == (
        "'' 60 False False"
    )
    refused = subprocess.run(
        [sys.executable, "-c", "import crm.settings.base"],
        env={"DATABASE_URL": url, "DATABASE_POOLER": "pgpool", "PATH": "/usr/bin:/bin"},
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
    )
    assert refused.returncode != 0
    assert "DATABASE_POOLER must be empty or 'pgbouncer'" in refused.stderr


@pytest.mark.django_db
def test_straight_to_postgresql_a_statement_run_often_is_prepared() -> None:
    """And behind PgBouncer (CI's pooler slice runs this file too) it never is."""
    from leads.models import ResponseTarget

    for _ in range(6):
        ResponseTarget.current()
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    found = any("leads_responsetarget" in statement for statement in prepared)
    assert found is not bool(settings.DATABASE_POOLER)
