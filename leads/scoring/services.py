"""Scores are computed by PostgreSQL, for any number of leads at once.

Every active ``ScoringRule`` is one branch of a ``CASE`` on its condition, evaluated against
each lead row beside the lead's timeline counts; the rules that hold are summed and listed
(the breakdown the lead page shows), the inactivity decay is taken off, and the result is
clamped to 0–100 — one ``UPDATE … FROM`` statement, whether it rescores one lead after an
edit or a range of 50,000 in the nightly run. Rules are read by the statement itself, so a
rule changed in the admin applies from the next rescore without any cache to clear.

Rows whose score and breakdown come out unchanged are not written (no dead tuples, and
``scored_at`` keeps saying when the score last changed). ``rate`` is never touched: the
score only suggests one (``suggested_rate``), a person decides.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.utils.timezone import now

from leads.models import Lead, LeadSettings, ScoringRule

# One week, in seconds: the unit of the inactivity decay.
WEEK_SECONDS = 7 * 24 * 3600
# The nightly run's transaction size: a range of ids, so each UPDATE holds its row locks
# for about a second, not for the whole table.
CHUNK_IDS = 50_000
TIMELINE_DAYS = ScoringRule.TIMELINE_DAYS

# What the person sent us only counts once the lead existed: the web form or email the
# lead was created from is its origin, not a return visit (a minute's grace covers the
# capture writing the lead and its first note a moment apart).
_TIMELINE = """
    SELECT n.lead_id,
           count(*) FILTER (WHERE n.kind IN ('call', 'email', 'meeting', 'note')) AS worked,
           count(*) FILTER (WHERE n.kind = 'email_in'
                            AND n.created_at > t.created_at + interval '1 minute') AS replies,
           count(*) FILTER (WHERE n.kind = 'web_form'
                            AND n.created_at > t.created_at + interval '1 minute') AS forms
    FROM leads_leadnote n JOIN leads_lead t ON t.id = n.lead_id
    WHERE {where_notes}
    GROUP BY n.lead_id
"""

# Each condition of ScoringRule.Condition as SQL over the candidate row ``c`` and the rule
# ``r`` (a row of the ``rules`` CTE below, which prepares each rule's pattern and lists once
# per statement rather than once per lead).
CONDITIONS = {
    "has_company": "btrim(c.company) <> ''",
    "title_words": "c.job_title ~* r.title_pattern",
    "budget_stated": "c.budget > 0",
    "authority_confirmed": "c.authority = 'decision_maker'",
    "need_described": "btrim(c.need) <> ''",
    "timeline_within": (
        "(CASE c.timeline "
        + " ".join(f"WHEN '{key}' THEN {days}" for key, days in TIMELINE_DAYS.items())
        + " END) <= r.number"
    ),
    "source_in": "c.source_id = ANY(r.source_ids)",
    "country_in": "c.country <> '' AND c.country = ANY(r.country_codes)",
    "activities_logged": "c.worked >= r.number",
    "replies_received": "c.replies >= r.number",
    "web_form_resubmitted": "c.forms >= r.number",
    "recent_activity": "c.last_activity_at >= %(at)s - r.number * interval '1 day'",
}

# Job-title words as one case-insensitive whole-word pattern: "CEO, Co-founder" →
# \m(CEO|Co\-founder)\M (punctuation escaped; a rule without words matches nothing).
_TITLE_PATTERN = (
    "CASE WHEN r.condition = 'title_words' THEN '\\m(' || NULLIF(array_to_string(ARRAY("
    "SELECT regexp_replace(btrim(w), '([^[:alnum:][:space:]])', '\\\\\\1', 'g') "
    "FROM unnest(r.title_words) AS w WHERE btrim(w) <> ''), '|'), '') || ')\\M' END"
)

_RESCORE = """
WITH rules AS MATERIALIZED (
    SELECT r.id, r.name, r.points, r.position, r.condition, r.number,
           {title_pattern} AS title_pattern,
           ARRAY(SELECT s.source_id FROM leads_scoringrule_sources s
                 WHERE s.scoringrule_id = r.id) AS source_ids,
           string_to_array(NULLIF(r.countries, ''), ',') AS country_codes
    FROM leads_scoringrule r WHERE r.is_active
)
UPDATE {table} AS l
SET score = n.score,
    score_breakdown = n.breakdown,
    scored_at = CASE WHEN l.scored_at IS NULL OR l.score <> n.score THEN %(at)s
                     ELSE l.scored_at END
FROM (
    SELECT c.id,
           LEAST(100, GREATEST(0, COALESCE(g.total, 0) - c.decay))::smallint AS score,
           COALESCE(g.items, '[]'::jsonb) || CASE WHEN c.decay > 0 THEN jsonb_build_array(
               jsonb_build_object('rule', NULL, 'label', c.decay_label, 'points', -c.decay))
               ELSE '[]'::jsonb END AS breakdown
    FROM (
        SELECT l.id, l.company, l.job_title, l.budget, l.authority, l.need, l.timeline,
               l.source_id, l.country, l.last_activity_at,
               COALESCE(a.worked, 0) AS worked, COALESCE(a.replies, 0) AS replies,
               COALESCE(a.forms, 0) AS forms,
               LEAST(100, w.weeks * s.per_week) AS decay,
               'No activity for ' || w.weeks || ' week' || CASE WHEN w.weeks = 1 THEN ''
                   ELSE 's' END AS decay_label
        FROM {table} l
        CROSS JOIN (SELECT COALESCE(max(score_decay_per_week), %(default_decay)s) AS per_week
                    FROM leads_leadsettings WHERE id = 1) s
        CROSS JOIN LATERAL (SELECT GREATEST(0, floor(
            extract(epoch FROM (%(at)s - l.last_activity_at)) / {week}))::int AS weeks) w
        LEFT JOIN ({timeline}) a ON a.lead_id = l.id
        WHERE {where_leads}
    ) c
    LEFT JOIN LATERAL (
        SELECT sum(r.points) AS total,
               jsonb_agg(jsonb_build_object('rule', r.id, 'label', r.name, 'points', r.points)
                         ORDER BY r.position, r.id) AS items
        FROM rules r
        WHERE COALESCE(CASE r.condition {conditions} ELSE false END, false)
    ) g ON true
) n
WHERE l.id = n.id AND {where_leads}
  AND (l.scored_at IS NULL OR l.score <> n.score OR l.score_breakdown <> n.breakdown)
{returning}
"""
_RETURNING = "RETURNING l.id, l.score, l.score_breakdown, l.scored_at"


def _statement(
    where_leads: str,
    where_notes: str,
    *,
    table: str = "leads_lead",
    timeline: str = _TIMELINE,
    returning: str = _RETURNING,
) -> str:
    conditions = " ".join(f"WHEN '{key}' THEN {sql}" for key, sql in CONDITIONS.items())
    return _RESCORE.format(
        table=table,
        timeline=timeline.format(where_notes=where_notes),
        where_leads=where_leads,
        conditions=conditions,
        week=WEEK_SECONDS,
        title_pattern=_TITLE_PATTERN,
        returning=returning,
    )


# The notes' leads are limited like the notes themselves: otherwise the planner joins the
# notes of a range to every lead (a scan of the whole table per chunk).
_BY_IDS = _statement("l.id = ANY(%(ids)s)", "n.lead_id = ANY(%(ids)s) AND t.id = ANY(%(ids)s)")
_BY_RANGE = _statement(
    "l.id >= %(low)s AND l.id < %(high)s",
    "n.lead_id >= %(low)s AND n.lead_id < %(high)s AND t.id >= %(low)s AND t.id < %(high)s",
)
# Leads not written yet (an import's staging table, which has the lead columns): scored
# before they are inserted, so they are written once, scores and all. They have no notes.
_NO_TIMELINE = (
    "SELECT NULL::bigint AS lead_id, 0 AS worked, 0 AS replies, 0 AS forms WHERE {where_notes}"
)
_STAGED = _statement(
    "l.action = 'create'", "false", table="import_stage", timeline=_NO_TIMELINE, returning=""
)
_DEFAULT_DECAY = LeadSettings._meta.get_field("score_decay_per_week").get_default()


def _run(sql: str, params: dict[str, Any], at: datetime | None) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, {**params, "at": at or now(), "default_decay": _DEFAULT_DECAY})
        return list(cursor.fetchall())


def rescore(lead_ids: Iterable[int], *, at: datetime | None = None) -> int:
    """Recompute these leads' scores (one statement, in the caller's transaction). Returns
    how many leads' score or breakdown changed."""
    ids = sorted({int(pk) for pk in lead_ids})
    if not ids:
        return 0
    return len(_run(_BY_IDS, {"ids": ids}, at))


def score_staged(cursor: Any, *, at: datetime) -> None:
    """Score the rows an import is about to create, in its staging table ``import_stage``
    (its ``action = 'create'`` rows), as ``rescore`` would score them once inserted."""
    cursor.execute(_STAGED, {"at": at, "default_decay": _DEFAULT_DECAY})


def rescore_lead(lead: Lead, *, at: datetime | None = None) -> Lead:
    """``rescore`` of one lead that also refreshes the instance in hand (the page or the
    caller shows the new score without reading the row again)."""
    for _pk, score, breakdown, scored_at in _run(_BY_IDS, {"ids": [lead.pk]}, at):
        lead.score = score
        # Django has psycopg hand jsonb over as text (JSONField decodes it itself).
        lead.score_breakdown = json.loads(breakdown) if isinstance(breakdown, str) else breakdown
        lead.scored_at = scored_at
    return lead


@dataclass
class RescoreReport:
    leads: int  # the leads looked at (the id range's rows)
    changed: int
    chunks: int
    seconds: float

    def as_json(self) -> dict[str, Any]:
        return {
            "leads": self.leads,
            "changed": self.changed,
            "chunks": self.chunks,
            "seconds": round(self.seconds, 3),
        }


def rescore_all(*, chunk: int = CHUNK_IDS, at: datetime | None = None) -> RescoreReport:
    """Every lead, in id ranges of ``chunk`` (each its own transaction): the nightly decay
    and a full recompute after rules change. Leads merged away are scored like any other
    (cheaper than excluding them, and harmless: nobody sees them)."""
    started = time.monotonic()
    at = at or now()
    with connection.cursor() as cursor:
        cursor.execute("SELECT min(id), max(id), count(*) FROM leads_lead")
        low, high, total = cursor.fetchone()
    changed = chunks = 0
    if low is not None:
        for start in range(low, high + 1, chunk):
            with transaction.atomic():
                # JIT compiling this statement cost more than running it (~1.7 s a chunk).
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL jit = off")
                changed += len(_run(_BY_RANGE, {"low": start, "high": start + chunk}, at))
            chunks += 1
    return RescoreReport(
        leads=total, changed=changed, chunks=chunks, seconds=time.monotonic() - started
    )


def default_bands() -> tuple[int, int]:
    """The thresholds before an admin has saved any (``LeadSettings``' defaults)."""
    fields = LeadSettings._meta
    return (
        fields.get_field("score_hot_from").get_default(),
        fields.get_field("score_warm_from").get_default(),
    )


def score_bands() -> tuple[int, int]:
    """(hot from, warm from): the admin's thresholds for the suggested rate."""
    found = LeadSettings.objects.filter(pk=1).values_list("score_hot_from", "score_warm_from")
    for hot, warm in found:
        return hot, warm
    return default_bands()


def suggested_rate(score: int | None, bands: tuple[int, int]) -> str:
    """Hot, warm or cold for a score by the thresholds; "" for a lead never scored."""
    if score is None:
        return ""
    hot, warm = bands
    if score >= hot:
        return Lead.Rate.HOT
    if score >= warm:
        return Lead.Rate.WARM
    return Lead.Rate.COLD
