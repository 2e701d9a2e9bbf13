# ruff: noqa: S608  (every SQL string here is built from constants and a checked zone name)
"""Keeping the daily lead summary (``crm.dashboards.models``) right.

Why triggers rather than the services: leads are written by ``lead_*`` services, but
also by bulk imports, ``QuerySet.update`` (bulk status/owner changes, SLA stamps), merges
and the admin. A statement-level trigger with transition tables sees every one of them,
costs one grouped upsert per statement (not per row), and runs in the writer's
transaction, so the summary can never drift from the leads it counts. A rebuild
(``summary_rebuild``: the Celery task and ``manage.py rebuild_lead_summary``) recomputes
it from scratch, e.g. after ``TIME_ZONE`` changes or a restore.

Migrations install this module's SQL as it is now (0005); a change to the triggers or the
summary's tables first freezes the SQL the latest migration installed into that
migration's own module (as ``migrations/_summary_v1`` holds 0002's and 0004's), then adds
a migration that installs and rebuilds with the new code.
"""

from __future__ import annotations

import zoneinfo
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from crm.dashboards.models import RESPONSE_BUCKETS, STATUS_FIELDS

LEADS = "leads_lead"
# The columns whose change can move a lead in the summary; an update touching none of
# them (a note, a new next action, the version) costs the trigger one join and no write.
WATCHED = [
    "created_at",
    "team_id",
    "owner_id",
    "source_id",
    "status",
    "lost_reason_id",
    "first_contacted_at",
    "first_response_time",
    "qualified_at",
    "sla_due_at",
    "merged_into_id",
    "next_action_due",
]
OPEN = "('new', 'not_contacted', 'contacted', 'qualified')"
WAITING = "status = 'new' AND first_contacted_at IS NULL AND sla_due_at IS NOT NULL"


def _day(tz: str) -> str:
    return f"(created_at AT TIME ZONE '{tz}')::date"


def _columns() -> list[tuple[str, str]]:
    """(summary column, condition) for every counted column but ``response_seconds``."""
    cols = [("leads", "TRUE")]
    cols += [(field, f"status = '{status}'") for status, field in STATUS_FIELDS.items()]
    cols += [
        ("reached_contacted", "first_contacted_at IS NOT NULL"),
        ("reached_qualified", "qualified_at IS NOT NULL"),
        ("responded", "first_response_time IS NOT NULL"),
        ("with_target", "first_contacted_at IS NOT NULL AND sla_due_at IS NOT NULL"),
        ("within_target", "first_contacted_at IS NOT NULL AND first_contacted_at <= sla_due_at"),
    ]
    minutes = "(EXTRACT(EPOCH FROM first_response_time) / 60)"
    low = None
    for i, high in enumerate([*RESPONSE_BUCKETS, None]):
        parts = ["first_response_time IS NOT NULL"]
        if low is not None:
            parts.append(f"{minutes} >= {low}")
        if high is not None:
            parts.append(f"{minutes} < {high}")
        cols.append((f"r{i}", " AND ".join(parts)))
        low = high
    return cols


# Each lead counts once per grain: in the week and in the month its creation day falls in.
# A set-returning function in the select list, not a join to a VALUES list: the trigger
# turns nested loops off, and a cross join priced as a disabled nested loop looked costly
# enough to be JIT-compiled — 1.2 s on every one-lead statement.
GRAINS = "unnest(ARRAY['week', 'month'])"


def summary_select(source: str, tz: str) -> tuple[str, str, str]:
    """The grouped rows of ``source`` (a relation with a ``sign`` column and the lead
    columns): the summed columns' names, and the SELECTs of LeadDay's and LeadPeriod's
    rows."""
    cols = _columns()
    names = ", ".join([name for name, _ in cols] + ["response_seconds"])
    sums = ", ".join(f"COALESCE(SUM(sign) FILTER (WHERE {cond}), 0)" for _, cond in cols)
    seconds = "COALESCE(SUM(sign * EXTRACT(EPOCH FROM first_response_time))::bigint, 0)"
    days = (
        f"SELECT {_day(tz)} AS day, team_id, owner_id, source_id, {sums}, {seconds} "
        f"FROM {source} WHERE merged_into_id IS NULL GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4"
    )
    periods = (
        f"SELECT grain, date_trunc(grain, created_at AT TIME ZONE '{tz}')::date, "
        f"team_id, owner_id, source_id, {sums}, {seconds} "
        f"FROM (SELECT {GRAINS} AS grain, * FROM {source}) AS p "
        "WHERE merged_into_id IS NULL GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5"
    )
    return names, days, periods


def _added(names: str) -> str:
    return ", ".join(
        f"{name} = s.{name} + EXCLUDED.{name}" for name in names.replace(" ", "").split(",")
    )


def _period_upsert(names: str, select: str) -> str:
    return f"""
    INSERT INTO dashboards_leadperiod AS s (grain, start, team_id, owner_id, source_id, {names})
    {select}
    ON CONFLICT (grain, start, team_id, owner_id, source_id) DO UPDATE SET {_added(names)};
    """


def _upserts(source: str, tz: str) -> str:
    names, days, periods = summary_select(source, tz)
    day = _day(tz)
    return f"""
    INSERT INTO dashboards_leadday AS s (day, team_id, owner_id, source_id, {names})
    {days}
    ON CONFLICT (day, team_id, owner_id, source_id) DO UPDATE SET {_added(names)};
    {_period_upsert(names, periods)}
    INSERT INTO dashboards_leadreasonday AS s
        (day, team_id, owner_id, source_id, status, lost_reason_id, leads)
    SELECT {day}, team_id, owner_id, source_id, status, lost_reason_id, SUM(sign)
    FROM {source}
    WHERE merged_into_id IS NULL AND status IN ('lost', 'unqualified')
    GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6
    ON CONFLICT (day, team_id, owner_id, source_id, status, lost_reason_id)
    DO UPDATE SET leads = s.leads + EXCLUDED.leads;
    INSERT INTO dashboards_leadreasonmonth AS s
        (month, team_id, owner_id, source_id, status, lost_reason_id, leads)
    SELECT date_trunc('month', created_at AT TIME ZONE '{tz}')::date, team_id, owner_id,
        source_id, status, lost_reason_id, SUM(sign)
    FROM {source}
    WHERE merged_into_id IS NULL AND status IN ('lost', 'unqualified')
    GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6
    ON CONFLICT (month, team_id, owner_id, source_id, status, lost_reason_id)
    DO UPDATE SET leads = s.leads + EXCLUDED.leads;
    INSERT INTO dashboards_openleads AS s
        (team_id, owner_id, source_id, wait_month, leads, no_action, waiting)
    SELECT team_id, owner_id, source_id,
        CASE WHEN {WAITING}
            THEN date_trunc('month', sla_due_at AT TIME ZONE 'UTC')::date END,
        SUM(sign),
        COALESCE(SUM(sign) FILTER (WHERE next_action_due IS NULL), 0),
        COALESCE(SUM(sign) FILTER (WHERE {WAITING}), 0)
    FROM {source}
    WHERE merged_into_id IS NULL AND status IN {OPEN}
    GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT (team_id, owner_id, source_id, wait_month) DO UPDATE SET
        leads = s.leads + EXCLUDED.leads,
        no_action = s.no_action + EXCLUDED.no_action,
        waiting = s.waiting + EXCLUDED.waiting;
    """


def trigger_sql(tz: str | None = None) -> str:
    """The function and the three statement-level triggers on the lead table."""
    tz = tz or settings.TIME_ZONE
    zoneinfo.ZoneInfo(tz)  # a real zone name, so it is safe to spell into the SQL
    old_cols = ", ".join(f"o.{c}" for c in WATCHED)
    new_cols = ", ".join(f"n.{c}" for c in WATCHED)
    changed = (
        "(SELECT -1 AS sign, o.* FROM old_rows o JOIN new_rows n ON n.id = o.id "
        f"WHERE ({old_cols}) IS DISTINCT FROM ({new_cols}) "
        "UNION ALL SELECT 1 AS sign, n.* FROM new_rows n JOIN old_rows o ON o.id = n.id "
        f"WHERE ({old_cols}) IS DISTINCT FROM ({new_cols})) AS d"
    )
    return f"""
    CREATE OR REPLACE FUNCTION dashboards_lead_summary() RETURNS trigger
    LANGUAGE plpgsql
    -- Transition tables have no statistics: the planner would join old and new rows by
    -- a nested loop (quadratic: +9 s on a 20,000-row UPDATE); a hash join is linear.
    SET enable_nestloop = off
    -- Each statement's rows are few or a bulk write's; compiling its plan never pays.
    SET jit = off
    AS $fn$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            {_upserts("(SELECT 1 AS sign, * FROM new_rows) AS d", tz)}
        ELSIF TG_OP = 'DELETE' THEN
            {_upserts("(SELECT -1 AS sign, * FROM old_rows) AS d", tz)}
        ELSE
            {_upserts(changed, tz)}
        END IF;
        RETURN NULL;
    END
    $fn$;
    DROP TRIGGER IF EXISTS dashboards_lead_summary_ins ON {LEADS};
    DROP TRIGGER IF EXISTS dashboards_lead_summary_upd ON {LEADS};
    DROP TRIGGER IF EXISTS dashboards_lead_summary_del ON {LEADS};
    CREATE TRIGGER dashboards_lead_summary_ins AFTER INSERT ON {LEADS}
        REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
        EXECUTE FUNCTION dashboards_lead_summary();
    CREATE TRIGGER dashboards_lead_summary_upd AFTER UPDATE ON {LEADS}
        REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
        EXECUTE FUNCTION dashboards_lead_summary();
    CREATE TRIGGER dashboards_lead_summary_del AFTER DELETE ON {LEADS}
        REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
        EXECUTE FUNCTION dashboards_lead_summary();
    """


DROP_SQL = f"""
DROP TRIGGER IF EXISTS dashboards_lead_summary_ins ON {LEADS};
DROP TRIGGER IF EXISTS dashboards_lead_summary_upd ON {LEADS};
DROP TRIGGER IF EXISTS dashboards_lead_summary_del ON {LEADS};
DROP FUNCTION IF EXISTS dashboards_lead_summary();
"""


@transaction.atomic
def summary_rebuild() -> dict[str, Any]:
    """Recompute both summary tables from the leads, and re-install the triggers (with the
    current ``TIME_ZONE``). Writers of leads wait for the rebuild (SHARE lock), so nothing
    written meanwhile is counted twice or missed."""
    tz = settings.TIME_ZONE
    with connection.cursor() as cursor:
        cursor.execute(trigger_sql(tz))
        cursor.execute(f"LOCK TABLE {LEADS} IN SHARE MODE")
        cursor.execute("DELETE FROM dashboards_leadday")
        cursor.execute("DELETE FROM dashboards_leadreasonday")
        cursor.execute("DELETE FROM dashboards_openleads")
        cursor.execute("DELETE FROM dashboards_leadperiod")
        cursor.execute("DELETE FROM dashboards_leadreasonmonth")
        cursor.execute(_upserts(f"(SELECT 1 AS sign, * FROM {LEADS}) AS d", tz))
        # Fresh statistics: without them the planner guesses a few rows, sorts 80k on disk.
        cursor.execute(
            "ANALYZE dashboards_leadday, dashboards_leadperiod, dashboards_leadreasonday, "
            "dashboards_leadreasonmonth, dashboards_openleads"
        )
        cursor.execute("SELECT COUNT(*) FROM dashboards_leadday")
        days = cursor.fetchone()[0]
        cursor.execute("SELECT COUNT(*) FROM dashboards_leadreasonday")
        reasons = cursor.fetchone()[0]
        cursor.execute("SELECT COUNT(*) FROM dashboards_leadperiod")
        periods = cursor.fetchone()[0]
    return {"rows": days, "reason_rows": reasons, "period_rows": periods}
