"""The lead summary's trigger function and fill, as migrations 0002 and 0004 installed them.

Frozen here, not read from ``crm.dashboards.services``, so that those migrations keep
meaning what they meant when later ones change the summary (0005 adds the weekly and
monthly rows). ``__TZ__`` stands for ``settings.TIME_ZONE``, checked as a zone name.
"""

import zoneinfo

from django.conf import settings

TRIGGER = """
    CREATE OR REPLACE FUNCTION dashboards_lead_summary() RETURNS trigger
    LANGUAGE plpgsql
    -- Transition tables have no statistics: the planner would join old and new rows by
    -- a nested loop (quadratic: +9 s on a 20,000-row UPDATE); a hash join is linear.
    SET enable_nestloop = off
    AS $fn$
    BEGIN
        IF TG_OP = 'INSERT' THEN

    INSERT INTO dashboards_leadday AS s (day, team_id, owner_id, source_id, leads, s_new, s_not_contacted, s_contacted, s_qualified, s_unqualified, s_converted, s_lost, s_junk, s_canceled, reached_contacted, reached_qualified, responded, with_target, within_target, r0, r1, r2, r3, r4, r5, r6, r7, r8, r9, r10, r11, response_seconds)
    SELECT (created_at AT TIME ZONE '__TZ__')::date AS day, team_id, owner_id, source_id, COALESCE(SUM(sign) FILTER (WHERE TRUE), 0), COALESCE(SUM(sign) FILTER (WHERE status = 'new'), 0), COALESCE(SUM(sign) FILTER (WHERE status = 'not_contacted'), 0), COALESCE(SUM(sign) FILTER (WHERE status = 'contacted'), 0), COALESCE(SUM(sign) FILTER (WHERE status = 'qualified'), 0), COALESCE(SUM(sign) FILTER (WHERE status = 'unqualified'), 0), COALESCE(SUM(sign) FILTER (WHERE status = 'converted'), 0), COALESCE(SUM(sign) FILTER (WHERE status = 'lost'), 0), COALESCE(SUM(sign) FILTER (WHERE status = 'junk'), 0), COALESCE(SUM(sign) FILTER (WHERE status = 'canceled'), 0), COALESCE(SUM(sign) FILTER (WHERE first_contacted_at IS NOT NULL), 0), COALESCE(SUM(sign) FILTER (WHERE qualified_at IS NOT NULL), 0), COALESCE(SUM(sign) FILTER (WHERE first_response_time IS NOT NULL), 0), COALESCE(SUM(sign) FILTER (WHERE first_contacted_at IS NOT NULL AND sla_due_at IS NOT NULL), 0), COALESCE(SUM(sign) FILTER (WHERE first_contacted_at IS NOT NULL AND first_contacted_at <= sla_due_at), 0), COALESCE(SUM(sign) FILTER (WHERE first_response_time IS NOT NULL AND (EXTRACT(EPOCH FROM first_response_time) / 60) < 5), 0), COALESCE(SUM(sign) FILTER (WHERE first_response_time IS NOT NULL AND (EXTRACT(EPOCH FROM first_response_time) / 60) >= 5 AND (EXTRACT(EPOCH FROM first_response_time) / 60) < 15), 0), COALESCE(SUM(sign) FILTER (WHERE first_response_time IS NOT NULL AND (EXTRACT(EPOCH FROM first_response_time) / 60) >= 15 AND (EXTRACT(EPOCH FROM first_response_time) / 60) < 30), 0), COALESCE(SUM(sign) FILTER (WHERE first_response_time IS NOT NULL AND (EXTRACT(EPOCH FROM first_response_time) / 60) >= 30 AND (EXTRACT(EPOCH FROM first_response_time) / 60) < 60), 0), COALESCE(SUM(sign) FILTER (WHERE first_response_time IS NOT NULL AND (EXTRACT(EPOCH FROM first_response_time) / 60) >= 60 AND (EXTRACT(EPOCH FROM first_response_time) / 60) < 120), 0), COALESCE(SUM(sign) FILTER (WHERE first_response_time IS NOT NULL AND (EXTRACT(EPOCH FROM first_response_time) / 60) >= 120 AND (EXTRACT(EPOCH FROM first_response_time) / 60) < 240), 0), COALESCE(SUM(sign) FILTER (WHERE first_response_time IS NOT NULL AND (EXTRACT(EPOCH FROM first_response_time) / 60) >= 240 AND (EXTRACT(EPOCH FROM first_response_time) / 60) < 480), 0), COALESCE(SUM(sign) FILTER (WHERE first_response_time IS NOT NULL AND (EXTRACT(EPOCH FROM first_response_time) / 60) >= 480 AND (EXTRACT(EPOCH FROM first_response_time) / 60) < 1440), 0), COALESCE(SUM(sign) FILTER (WHERE first_response_time IS NOT NULL AND (EXTRACT(EPOCH FROM first_response_time) / 60) >= 1440 AND (EXTRACT(EPOCH FROM first_response_time) / 60) < 2880), 0), COALESCE(SUM(sign) FILTER (WHERE first_response_time IS NOT NULL AND (EXTRACT(EPOCH FROM first_response_time) / 60) >= 2880 AND (EXTRACT(EPOCH FROM first_response_time) / 60) < 4320), 0), COALESCE(SUM(sign) FILTER (WHERE first_response_time IS NOT NULL AND (EXTRACT(EPOCH FROM first_response_time) / 60) >= 4320 AND (EXTRACT(EPOCH FROM first_response_time) / 60) < 10080), 0), COALESCE(SUM(sign) FILTER (WHERE first_response_time IS NOT NULL AND (EXTRACT(EPOCH FROM first_response_time) / 60) >= 10080), 0), COALESCE(SUM(sign * EXTRACT(EPOCH FROM first_response_time))::bigint, 0) FROM (SELECT 1 AS sign, * FROM new_rows) AS d WHERE merged_into_id IS NULL GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT (day, team_id, owner_id, source_id) DO UPDATE SET leads = s.leads + EXCLUDED.leads, s_new = s.s_new + EXCLUDED.s_new, s_not_contacted = s.s_not_contacted + EXCLUDED.s_not_contacted, s_contacted = s.s_contacted + EXCLUDED.s_contacted, s_qualified = s.s_qualified + EXCLUDED.s_qualified, s_unqualified = s.s_unqualified + EXCLUDED.s_unqualified, s_converted = s.s_converted + EXCLUDED.s_converted, s_lost = s.s_lost + EXCLUDED.s_lost, s_junk = s.s_junk + EXCLUDED.s_junk, s_canceled = s.s_canceled + EXCLUDED.s_canceled, reached_contacted = s.reached_contacted + EXCLUDED.reached_contacted, reached_qualified = s.reached_qualified + EXCLUDED.reached_qualified, responded = s.responded + EXCLUDED.responded, with_target = s.with_target + EXCLUDED.with_target, within_target = s.within_target + EXCLUDED.within_target, r0 = s.r0 + EXCLUDED.r0, r1 = s.r1 + EXCLUDED.r1, r2 = s.r2 + EXCLUDED.r2, r3 = s.r3 + EXCLUDED.r3, r4 = s.r4 + EXCLUDED.r4, r5 = s.r5 + EXCLUDED.r5, r6 = s.r6 + EXCLUDED.r6, r7 = s.r7 + EXCLUDED.r7, r8 = s.r8 + EXCLUDED.r8, r9 = s.r9 + EXCLUDED.r9, r10 = s.r10 + EXCLUDED.r10, r11 = s.r11 + EXCLUDED.r11, response_seconds = s.response_seconds + EXCLUDED.response_seconds;
    INSERT INTO dashboards_leadreasonday AS s
        (day, team_id, owner_id, source_id, status, lost_reason_id, leads)
    SELECT (created_at AT TIME ZONE '__TZ__')::date, team_id, owner_id, source_id, status, lost_reason_id, SUM(sign)
    FROM (SELECT 1 AS sign, * FROM new_rows) AS d
    WHERE merged_into_id IS NULL AND status IN ('lost', 'unqualified')
    GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6
    ON CONFLICT (day, team_id, owner_id, source_id, status, lost_reason_id)
    DO UPDATE SET leads = s.leads + EXCLUDED.leads;
    INSERT INTO dashboards_openleads AS s
        (team_id, owner_id, source_id, wait_month, leads, no_action, waiting)
    SELECT team_id, owner_id, source_id,
        CASE WHEN status = 'new' AND first_contacted_at IS NULL AND sla_due_at IS NOT NULL
            THEN date_trunc('month', sla_due_at AT TIME ZONE 'UTC')::date END,
        SUM(sign),
        COALESCE(SUM(sign) FILTER (WHERE next_action_due IS NULL), 0),
        COALESCE(SUM(sign) FILTER (WHERE status = 'new' AND first_contacted_at IS NULL AND sla_due_at IS NOT NULL), 0)
    FROM (SELECT 1 AS sign, * FROM new_rows) AS d
    WHERE merged_into_id IS NULL AND status IN ('new', 'not_contacted', 'contacted', 'qualified')
    GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT (team_id, owner_id, source_id, wait_month) DO UPDATE SET
        leads = s.leads + EXCLUDED.leads,
        no_action = s.no_action + EXCLUDED.no_action,
        waiting = s.waiting + EXCLUDED.waiting;

        ELSIF TG_OP = 'DELETE' THEN

    INSERT INTO dashboards_leadday AS s (day, team_id, owner_id, source_id, leads, s_new, s_not_contacted, s_contacted, s_qualified, s_unqualified, s_converted, s_lost, s_junk, s_canceled, reached_contacted, reached_qualified, responded, with_target, within_target, r0, r1, r2, r3, r4, r5, r6, r7, r8, r9, r10, r11, response_seconds)
    SELECT (created_at AT TIME ZONE '__TZ__')::date AS day, team_id, owner_id, source_id, COALESCE(SUM(sign) FILTER (WHERE TRUE), 0), COALESCE(SUM(sign) FILTER (WHERE status = 'new'), 0), COALESCE(SUM(sign) FILTER (WHERE status = 'not_contacted'), 0), COALESCE(SUM(sign) FILTER (WHERE status = 'contacted'), 0), COALESCE(SUM(sign) FILTER (WHERE status = 'qualified'), 0), COALESCE(SUM(sign) FILTER (WHERE status = 'unqualified'), 0), COALESCE(SUM(sign) FILTER (WHERE status = 'converted'), 0), COALESCE(SUM(sign) FILTER (WHERE status = 'lost'), 0), COALESCE(SUM(sign) FILTER (WHERE status = 'junk'), 0), COALESCE(SUM(sign) FILTER (WHERE status = 'canceled'), 0), COALESCE(SUM(sign) FILTER (WHERE first_contacted_at IS NOT NULL), 0), COALESCE(SUM(sign) FILTER (WHERE qualified_at IS NOT NULL), 0), COALESCE(SUM(sign) FILTER (WHERE first_response_time IS NOT NULL), 0), COALESCE(SUM(sign) FILTER (WHERE first_contacted_at IS NOT NULL AND sla_due_at IS NOT NULL), 0), COALESCE(SUM(sign) FILTER (WHERE first_contacted_at IS NOT NULL AND first_contacted_at <= sla_due_at), 0), COALESCE(SUM(sign) FILTER (WHERE first_response_time IS NOT NULL AND (EXTRACT(EPOCH FROM first_response_time) / 60) < 5), 0), COALESCE(SUM(sign) FILTER (WHERE first_response_time IS NOT NULL AND (EXTRACT(EPOCH FROM first_response_time) / 60) >= 5 AND (EXTRACT(EPOCH FROM first_response_time) / 60) < 15), 0), COALESCE(SUM(sign) FILTER (WHERE first_response_time IS NOT NULL AND (EXTRACT(EPOCH FROM first_response_time) / 60) >= 15 AND (EXTRACT(EPOCH FROM first_response_time) / 60) < 30), 0), COALESCE(SUM(sign) FILTER (WHERE first_response_time IS NOT NULL AND (EXTRACT(EPOCH FROM first_response_time) / 60) >= 30 AND (EXTRACT(EPOCH FROM first_response_time) / 60) < 60), 0), COALESCE(SUM(sign) FILTER (WHERE first_response_time IS NOT NULL AND (EXTRACT(EPOCH FROM first_response_time) / 60) >= 60 AND (EXTRACT(EPOCH FROM first_response_time) / 60) < 120), 0), COALESCE(SUM(sign) FILTER (WHERE first_response_time IS NOT NULL AND (EXTRACT(EPOCH FROM first_response_time) / 60) >= 120 AND (EXTRACT(EPOCH FROM first_response_time) / 60) < 240), 0), COALESCE(SUM(sign) FILTER (WHERE first_response_time IS NOT NULL AND (EXTRACT(EPOCH FROM first_response_time) / 60) >= 240 AND (EXTRACT(EPOCH FROM first_response_time) / 60) < 480), 0), COALESCE(SUM(sign) FILTER (WHERE first_response_time IS NOT NULL AND (EXTRACT(EPOCH FROM first_response_time) / 60) >= 480 AND (EXTRACT(EPOCH FROM first_response_time) / 60) < 1440), 0), COALESCE(SUM(sign) FILTER (WHERE first_response_time IS NOT NULL AND (EXTRACT(EPOCH FROM first_response_time) / 60) >= 1440 AND (EXTRACT(EPOCH FROM first_response_time) / 60) < 2880), 0), COALESCE(SUM(sign) FILTER (WHERE first_response_time IS NOT NULL AND (EXTRACT(EPOCH FROM first_response_time) / 60) >= 2880 AND (EXTRACT(EPOCH FROM first_response_time) / 60) < 4320), 0), COALESCE(SUM(sign) FILTER (WHERE first_response_time IS NOT NULL AND (EXTRACT(EPOCH FROM first_response_time) / 60) >= 4320 AND (EXTRACT(EPOCH FROM first_response_time) / 60) < 10080), 0), COALESCE(SUM(sign) FILTER (WHERE first_response_time IS NOT NULL AND (EXTRACT(EPOCH FROM first_response_time) / 60) >= 10080), 0), COALESCE(SUM(sign * EXTRACT(EPOCH FROM first_response_time))::bigint, 0) FROM (SELECT -1 AS sign, * FROM old_rows) AS d WHERE merged_into_id IS NULL GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT (day, team_id, owner_id, source_id) DO UPDATE SET leads = s.leads + EXCLUDED.leads, s_new = s.s_new + EXCLUDED.s_new, s_not_contacted = s.s_not_contacted + EXCLUDED.s_not_contacted, s_contacted = s.s_contacted + EXCLUDED.s_contacted, s_qualified = s.s_qualified + EXCLUDED.s_qualified, s_unqualified = s.s_unqualified + EXCLUDED.s_unqualified, s_converted = s.s_converted + EXCLUDED.s_converted, s_lost = s.s_lost + EXCLUDED.s_lost, s_junk = s.s_junk + EXCLUDED.s_junk, s_canceled = s.s_canceled + EXCLUDED.s_canceled, reached_contacted = s.reached_contacted + EXCLUDED.reached_contacted, reached_qualified = s.reached_qualified + EXCLUDED.reached_qualified, responded = s.responded + EXCLUDED.responded, with_target = s.with_target + EXCLUDED.with_target, within_target = s.within_target + EXCLUDED.within_target, r0 = s.r0 + EXCLUDED.r0, r1 = s.r1 + EXCLUDED.r1, r2 = s.r2 + EXCLUDED.r2, r3 = s.r3 + EXCLUDED.r3, r4 = s.r4 + EXCLUDED.r4, r5 = s.r5 + EXCLUDED.r5, r6 = s.r6 + EXCLUDED.r6, r7 = s.r7 + EXCLUDED.r7, r8 = s.r8 + EXCLUDED.r8, r9 = s.r9 + EXCLUDED.r9, r10 = s.r10 + EXCLUDED.r10, r11 = s.r11 + EXCLUDED.r11, response_seconds = s.response_seconds + EXCLUDED.response_seconds;
    INSERT INTO dashboards_leadreasonday AS s
        (day, team_id, owner_id, source_id, status, lost_reason_id, leads)
    SELECT (created_at AT TIME ZONE '__TZ__')::date, team_id, owner_id, source_id, status, lost_reason_id, SUM(sign)
    FROM (SELECT -1 AS sign, * FROM old_rows) AS d
    WHERE merged_into_id IS NULL AND status IN ('lost', 'unqualified')
    GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6
    ON CONFLICT (day, team_id, owner_id, source_id, status, lost_reason_id)
    DO UPDATE SET leads = s.leads + EXCLUDED.leads;
    INSERT INTO dashboards_openleads AS s
        (team_id, owner_id, source_id, wait_month, leads, no_action, waiting)
    SELECT team_id, owner_id, source_id,
        CASE WHEN status = 'new' AND first_contacted_at IS NULL AND sla_due_at IS NOT NULL
            THEN date_trunc('month', sla_due_at AT TIME ZONE 'UTC')::date END,
        SUM(sign),
        COALESCE(SUM(sign) FILTER (WHERE next_action_due IS NULL), 0),
        COALESCE(SUM(sign) FILTER (WHERE status = 'new' AND first_contacted_at IS NULL AND sla_due_at IS NOT NULL), 0)
    FROM (SELECT -1 AS sign, * FROM old_rows) AS d
    WHERE merged_into_id IS NULL AND status IN ('new', 'not_contacted', 'contacted', 'qualified')
    GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT (team_id, owner_id, source_id, wait_month) DO UPDATE SET
        leads = s.leads + EXCLUDED.leads,
        no_action = s.no_action + EXCLUDED.no_action,
        waiting = s.waiting + EXCLUDED.waiting;

        ELSE

    INSERT INTO dashboards_leadday AS s (day, team_id, owner_id, source_id, leads, s_new, s_not_contacted, s_contacted, s_qualified, s_unqualified, s_converted, s_lost, s_junk, s_canceled, reached_contacted, reached_qualified, responded, with_target, within_target, r0, r1, r2, r3, r4, r5, r6, r7, r8, r9, r10, r11, response_seconds)
    SELECT (created_at AT TIME ZONE '__TZ__')::date AS day, team_id, owner_id, source_id, COALESCE(SUM(sign) FILTER (WHERE TRUE), 0), COALESCE(SUM(sign) FILTER (WHERE status = 'new'), 0), COALESCE(SUM(sign) FILTER (WHERE status = 'not_contacted'), 0), COALESCE(SUM(sign) FILTER (WHERE status = 'contacted'), 0), COALESCE(SUM(sign) FILTER (WHERE status = 'qualified'), 0), COALESCE(SUM(sign) FILTER (WHERE status = 'unqualified'), 0), COALESCE(SUM(sign) FILTER (WHERE status = 'converted'), 0), COALESCE(SUM(sign) FILTER (WHERE status = 'lost'), 0), COALESCE(SUM(sign) FILTER (WHERE status = 'junk'), 0), COALESCE(SUM(sign) FILTER (WHERE status = 'canceled'), 0), COALESCE(SUM(sign) FILTER (WHERE first_contacted_at IS NOT NULL), 0), COALESCE(SUM(sign) FILTER (WHERE qualified_at IS NOT NULL), 0), COALESCE(SUM(sign) FILTER (WHERE first_response_time IS NOT NULL), 0), COALESCE(SUM(sign) FILTER (WHERE first_contacted_at IS NOT NULL AND sla_due_at IS NOT NULL), 0), COALESCE(SUM(sign) FILTER (WHERE first_contacted_at IS NOT NULL AND first_contacted_at <= sla_due_at), 0), COALESCE(SUM(sign) FILTER (WHERE first_response_time IS NOT NULL AND (EXTRACT(EPOCH FROM first_response_time) / 60) < 5), 0), COALESCE(SUM(sign) FILTER (WHERE first_response_time IS NOT NULL AND (EXTRACT(EPOCH FROM first_response_time) / 60) >= 5 AND (EXTRACT(EPOCH FROM first_response_time) / 60) < 15), 0), COALESCE(SUM(sign) FILTER (WHERE first_response_time IS NOT NULL AND (EXTRACT(EPOCH FROM first_response_time) / 60) >= 15 AND (EXTRACT(EPOCH FROM first_response_time) / 60) < 30), 0), COALESCE(SUM(sign) FILTER (WHERE first_response_time IS NOT NULL AND (EXTRACT(EPOCH FROM first_response_time) / 60) >= 30 AND (EXTRACT(EPOCH FROM first_response_time) / 60) < 60), 0), COALESCE(SUM(sign) FILTER (WHERE first_response_time IS NOT NULL AND (EXTRACT(EPOCH FROM first_response_time) / 60) >= 60 AND (EXTRACT(EPOCH FROM first_response_time) / 60) < 120), 0), COALESCE(SUM(sign) FILTER (WHERE first_response_time IS NOT NULL AND (EXTRACT(EPOCH FROM first_response_time) / 60) >= 120 AND (EXTRACT(EPOCH FROM first_response_time) / 60) < 240), 0), COALESCE(SUM(sign) FILTER (WHERE first_response_time IS NOT NULL AND (EXTRACT(EPOCH FROM first_response_time) / 60) >= 240 AND (EXTRACT(EPOCH FROM first_response_time) / 60) < 480), 0), COALESCE(SUM(sign) FILTER (WHERE first_response_time IS NOT NULL AND (EXTRACT(EPOCH FROM first_response_time) / 60) >= 480 AND (EXTRACT(EPOCH FROM first_response_time) / 60) < 1440), 0), COALESCE(SUM(sign) FILTER (WHERE first_response_time IS NOT NULL AND (EXTRACT(EPOCH FROM first_response_time) / 60) >= 1440 AND (EXTRACT(EPOCH FROM first_response_time) / 60) < 2880), 0), COALESCE(SUM(sign) FILTER (WHERE first_response_time IS NOT NULL AND (EXTRACT(EPOCH FROM first_response_time) / 60) >= 2880 AND (EXTRACT(EPOCH FROM first_response_time) / 60) < 4320), 0), COALESCE(SUM(sign) FILTER (WHERE first_response_time IS NOT NULL AND (EXTRACT(EPOCH FROM first_response_time) / 60) >= 4320 AND (EXTRACT(EPOCH FROM first_response_time) / 60) < 10080), 0), COALESCE(SUM(sign) FILTER (WHERE first_response_time IS NOT NULL AND (EXTRACT(EPOCH FROM first_response_time) / 60) >= 10080), 0), COALESCE(SUM(sign * EXTRACT(EPOCH FROM first_response_time))::bigint, 0) FROM (SELECT -1 AS sign, o.* FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE (o.created_at, o.team_id, o.owner_id, o.source_id, o.status, o.lost_reason_id, o.first_contacted_at, o.first_response_time, o.qualified_at, o.sla_due_at, o.merged_into_id, o.next_action_due) IS DISTINCT FROM (n.created_at, n.team_id, n.owner_id, n.source_id, n.status, n.lost_reason_id, n.first_contacted_at, n.first_response_time, n.qualified_at, n.sla_due_at, n.merged_into_id, n.next_action_due) UNION ALL SELECT 1 AS sign, n.* FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE (o.created_at, o.team_id, o.owner_id, o.source_id, o.status, o.lost_reason_id, o.first_contacted_at, o.first_response_time, o.qualified_at, o.sla_due_at, o.merged_into_id, o.next_action_due) IS DISTINCT FROM (n.created_at, n.team_id, n.owner_id, n.source_id, n.status, n.lost_reason_id, n.first_contacted_at, n.first_response_time, n.qualified_at, n.sla_due_at, n.merged_into_id, n.next_action_due)) AS d WHERE merged_into_id IS NULL GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT (day, team_id, owner_id, source_id) DO UPDATE SET leads = s.leads + EXCLUDED.leads, s_new = s.s_new + EXCLUDED.s_new, s_not_contacted = s.s_not_contacted + EXCLUDED.s_not_contacted, s_contacted = s.s_contacted + EXCLUDED.s_contacted, s_qualified = s.s_qualified + EXCLUDED.s_qualified, s_unqualified = s.s_unqualified + EXCLUDED.s_unqualified, s_converted = s.s_converted + EXCLUDED.s_converted, s_lost = s.s_lost + EXCLUDED.s_lost, s_junk = s.s_junk + EXCLUDED.s_junk, s_canceled = s.s_canceled + EXCLUDED.s_canceled, reached_contacted = s.reached_contacted + EXCLUDED.reached_contacted, reached_qualified = s.reached_qualified + EXCLUDED.reached_qualified, responded = s.responded + EXCLUDED.responded, with_target = s.with_target + EXCLUDED.with_target, within_target = s.within_target + EXCLUDED.within_target, r0 = s.r0 + EXCLUDED.r0, r1 = s.r1 + EXCLUDED.r1, r2 = s.r2 + EXCLUDED.r2, r3 = s.r3 + EXCLUDED.r3, r4 = s.r4 + EXCLUDED.r4, r5 = s.r5 + EXCLUDED.r5, r6 = s.r6 + EXCLUDED.r6, r7 = s.r7 + EXCLUDED.r7, r8 = s.r8 + EXCLUDED.r8, r9 = s.r9 + EXCLUDED.r9, r10 = s.r10 + EXCLUDED.r10, r11 = s.r11 + EXCLUDED.r11, response_seconds = s.response_seconds + EXCLUDED.response_seconds;
    INSERT INTO dashboards_leadreasonday AS s
        (day, team_id, owner_id, source_id, status, lost_reason_id, leads)
    SELECT (created_at AT TIME ZONE '__TZ__')::date, team_id, owner_id, source_id, status, lost_reason_id, SUM(sign)
    FROM (SELECT -1 AS sign, o.* FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE (o.created_at, o.team_id, o.owner_id, o.source_id, o.status, o.lost_reason_id, o.first_contacted_at, o.first_response_time, o.qualified_at, o.sla_due_at, o.merged_into_id, o.next_action_due) IS DISTINCT FROM (n.created_at, n.team_id, n.owner_id, n.source_id, n.status, n.lost_reason_id, n.first_contacted_at, n.first_response_time, n.qualified_at, n.sla_due_at, n.merged_into_id, n.next_action_due) UNION ALL SELECT 1 AS sign, n.* FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE (o.created_at, o.team_id, o.owner_id, o.source_id, o.status, o.lost_reason_id, o.first_contacted_at, o.first_response_time, o.qualified_at, o.sla_due_at, o.merged_into_id, o.next_action_due) IS DISTINCT FROM (n.created_at, n.team_id, n.owner_id, n.source_id, n.status, n.lost_reason_id, n.first_contacted_at, n.first_response_time, n.qualified_at, n.sla_due_at, n.merged_into_id, n.next_action_due)) AS d
    WHERE merged_into_id IS NULL AND status IN ('lost', 'unqualified')
    GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6
    ON CONFLICT (day, team_id, owner_id, source_id, status, lost_reason_id)
    DO UPDATE SET leads = s.leads + EXCLUDED.leads;
    INSERT INTO dashboards_openleads AS s
        (team_id, owner_id, source_id, wait_month, leads, no_action, waiting)
    SELECT team_id, owner_id, source_id,
        CASE WHEN status = 'new' AND first_contacted_at IS NULL AND sla_due_at IS NOT NULL
            THEN date_trunc('month', sla_due_at AT TIME ZONE 'UTC')::date END,
        SUM(sign),
        COALESCE(SUM(sign) FILTER (WHERE next_action_due IS NULL), 0),
        COALESCE(SUM(sign) FILTER (WHERE status = 'new' AND first_contacted_at IS NULL AND sla_due_at IS NOT NULL), 0)
    FROM (SELECT -1 AS sign, o.* FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE (o.created_at, o.team_id, o.owner_id, o.source_id, o.status, o.lost_reason_id, o.first_contacted_at, o.first_response_time, o.qualified_at, o.sla_due_at, o.merged_into_id, o.next_action_due) IS DISTINCT FROM (n.created_at, n.team_id, n.owner_id, n.source_id, n.status, n.lost_reason_id, n.first_contacted_at, n.first_response_time, n.qualified_at, n.sla_due_at, n.merged_into_id, n.next_action_due) UNION ALL SELECT 1 AS sign, n.* FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE (o.created_at, o.team_id, o.owner_id, o.source_id, o.status, o.lost_reason_id, o.first_contacted_at, o.first_response_time, o.qualified_at, o.sla_due_at, o.merged_into_id, o.next_action_due) IS DISTINCT FROM (n.created_at, n.team_id, n.owner_id, n.source_id, n.status, n.lost_reason_id, n.first_contacted_at, n.first_response_time, n.qualified_at, n.sla_due_at, n.merged_into_id, n.next_action_due)) AS d
    WHERE merged_into_id IS NULL AND status IN ('new', 'not_contacted', 'contacted', 'qualified')
    GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT (team_id, owner_id, source_id, wait_month) DO UPDATE SET
        leads = s.leads + EXCLUDED.leads,
        no_action = s.no_action + EXCLUDED.no_action,
        waiting = s.waiting + EXCLUDED.waiting;

        END IF;
        RETURN NULL;
    END
    $fn$;
    DROP TRIGGER IF EXISTS dashboards_lead_summary_ins ON leads_lead;
    DROP TRIGGER IF EXISTS dashboards_lead_summary_upd ON leads_lead;
    DROP TRIGGER IF EXISTS dashboards_lead_summary_del ON leads_lead;
    CREATE TRIGGER dashboards_lead_summary_ins AFTER INSERT ON leads_lead
        REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
        EXECUTE FUNCTION dashboards_lead_summary();
    CREATE TRIGGER dashboards_lead_summary_upd AFTER UPDATE ON leads_lead
        REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
        EXECUTE FUNCTION dashboards_lead_summary();
    CREATE TRIGGER dashboards_lead_summary_del AFTER DELETE ON leads_lead
        REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
        EXECUTE FUNCTION dashboards_lead_summary();
    """

FILL = """
DELETE FROM dashboards_leadday;
DELETE FROM dashboards_leadreasonday;
DELETE FROM dashboards_openleads;

    INSERT INTO dashboards_leadday AS s (day, team_id, owner_id, source_id, leads, s_new, s_not_contacted, s_contacted, s_qualified, s_unqualified, s_converted, s_lost, s_junk, s_canceled, reached_contacted, reached_qualified, responded, with_target, within_target, r0, r1, r2, r3, r4, r5, r6, r7, r8, r9, r10, r11, response_seconds)
    SELECT (created_at AT TIME ZONE '__TZ__')::date AS day, team_id, owner_id, source_id, COALESCE(SUM(sign) FILTER (WHERE TRUE), 0), COALESCE(SUM(sign) FILTER (WHERE status = 'new'), 0), COALESCE(SUM(sign) FILTER (WHERE status = 'not_contacted'), 0), COALESCE(SUM(sign) FILTER (WHERE status = 'contacted'), 0), COALESCE(SUM(sign) FILTER (WHERE status = 'qualified'), 0), COALESCE(SUM(sign) FILTER (WHERE status = 'unqualified'), 0), COALESCE(SUM(sign) FILTER (WHERE status = 'converted'), 0), COALESCE(SUM(sign) FILTER (WHERE status = 'lost'), 0), COALESCE(SUM(sign) FILTER (WHERE status = 'junk'), 0), COALESCE(SUM(sign) FILTER (WHERE status = 'canceled'), 0), COALESCE(SUM(sign) FILTER (WHERE first_contacted_at IS NOT NULL), 0), COALESCE(SUM(sign) FILTER (WHERE qualified_at IS NOT NULL), 0), COALESCE(SUM(sign) FILTER (WHERE first_response_time IS NOT NULL), 0), COALESCE(SUM(sign) FILTER (WHERE first_contacted_at IS NOT NULL AND sla_due_at IS NOT NULL), 0), COALESCE(SUM(sign) FILTER (WHERE first_contacted_at IS NOT NULL AND first_contacted_at <= sla_due_at), 0), COALESCE(SUM(sign) FILTER (WHERE first_response_time IS NOT NULL AND (EXTRACT(EPOCH FROM first_response_time) / 60) < 5), 0), COALESCE(SUM(sign) FILTER (WHERE first_response_time IS NOT NULL AND (EXTRACT(EPOCH FROM first_response_time) / 60) >= 5 AND (EXTRACT(EPOCH FROM first_response_time) / 60) < 15), 0), COALESCE(SUM(sign) FILTER (WHERE first_response_time IS NOT NULL AND (EXTRACT(EPOCH FROM first_response_time) / 60) >= 15 AND (EXTRACT(EPOCH FROM first_response_time) / 60) < 30), 0), COALESCE(SUM(sign) FILTER (WHERE first_response_time IS NOT NULL AND (EXTRACT(EPOCH FROM first_response_time) / 60) >= 30 AND (EXTRACT(EPOCH FROM first_response_time) / 60) < 60), 0), COALESCE(SUM(sign) FILTER (WHERE first_response_time IS NOT NULL AND (EXTRACT(EPOCH FROM first_response_time) / 60) >= 60 AND (EXTRACT(EPOCH FROM first_response_time) / 60) < 120), 0), COALESCE(SUM(sign) FILTER (WHERE first_response_time IS NOT NULL AND (EXTRACT(EPOCH FROM first_response_time) / 60) >= 120 AND (EXTRACT(EPOCH FROM first_response_time) / 60) < 240), 0), COALESCE(SUM(sign) FILTER (WHERE first_response_time IS NOT NULL AND (EXTRACT(EPOCH FROM first_response_time) / 60) >= 240 AND (EXTRACT(EPOCH FROM first_response_time) / 60) < 480), 0), COALESCE(SUM(sign) FILTER (WHERE first_response_time IS NOT NULL AND (EXTRACT(EPOCH FROM first_response_time) / 60) >= 480 AND (EXTRACT(EPOCH FROM first_response_time) / 60) < 1440), 0), COALESCE(SUM(sign) FILTER (WHERE first_response_time IS NOT NULL AND (EXTRACT(EPOCH FROM first_response_time) / 60) >= 1440 AND (EXTRACT(EPOCH FROM first_response_time) / 60) < 2880), 0), COALESCE(SUM(sign) FILTER (WHERE first_response_time IS NOT NULL AND (EXTRACT(EPOCH FROM first_response_time) / 60) >= 2880 AND (EXTRACT(EPOCH FROM first_response_time) / 60) < 4320), 0), COALESCE(SUM(sign) FILTER (WHERE first_response_time IS NOT NULL AND (EXTRACT(EPOCH FROM first_response_time) / 60) >= 4320 AND (EXTRACT(EPOCH FROM first_response_time) / 60) < 10080), 0), COALESCE(SUM(sign) FILTER (WHERE first_response_time IS NOT NULL AND (EXTRACT(EPOCH FROM first_response_time) / 60) >= 10080), 0), COALESCE(SUM(sign * EXTRACT(EPOCH FROM first_response_time))::bigint, 0) FROM (SELECT 1 AS sign, * FROM leads_lead) AS d WHERE merged_into_id IS NULL GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT (day, team_id, owner_id, source_id) DO UPDATE SET leads = s.leads + EXCLUDED.leads, s_new = s.s_new + EXCLUDED.s_new, s_not_contacted = s.s_not_contacted + EXCLUDED.s_not_contacted, s_contacted = s.s_contacted + EXCLUDED.s_contacted, s_qualified = s.s_qualified + EXCLUDED.s_qualified, s_unqualified = s.s_unqualified + EXCLUDED.s_unqualified, s_converted = s.s_converted + EXCLUDED.s_converted, s_lost = s.s_lost + EXCLUDED.s_lost, s_junk = s.s_junk + EXCLUDED.s_junk, s_canceled = s.s_canceled + EXCLUDED.s_canceled, reached_contacted = s.reached_contacted + EXCLUDED.reached_contacted, reached_qualified = s.reached_qualified + EXCLUDED.reached_qualified, responded = s.responded + EXCLUDED.responded, with_target = s.with_target + EXCLUDED.with_target, within_target = s.within_target + EXCLUDED.within_target, r0 = s.r0 + EXCLUDED.r0, r1 = s.r1 + EXCLUDED.r1, r2 = s.r2 + EXCLUDED.r2, r3 = s.r3 + EXCLUDED.r3, r4 = s.r4 + EXCLUDED.r4, r5 = s.r5 + EXCLUDED.r5, r6 = s.r6 + EXCLUDED.r6, r7 = s.r7 + EXCLUDED.r7, r8 = s.r8 + EXCLUDED.r8, r9 = s.r9 + EXCLUDED.r9, r10 = s.r10 + EXCLUDED.r10, r11 = s.r11 + EXCLUDED.r11, response_seconds = s.response_seconds + EXCLUDED.response_seconds;
    INSERT INTO dashboards_leadreasonday AS s
        (day, team_id, owner_id, source_id, status, lost_reason_id, leads)
    SELECT (created_at AT TIME ZONE '__TZ__')::date, team_id, owner_id, source_id, status, lost_reason_id, SUM(sign)
    FROM (SELECT 1 AS sign, * FROM leads_lead) AS d
    WHERE merged_into_id IS NULL AND status IN ('lost', 'unqualified')
    GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6
    ON CONFLICT (day, team_id, owner_id, source_id, status, lost_reason_id)
    DO UPDATE SET leads = s.leads + EXCLUDED.leads;
    INSERT INTO dashboards_openleads AS s
        (team_id, owner_id, source_id, wait_month, leads, no_action, waiting)
    SELECT team_id, owner_id, source_id,
        CASE WHEN status = 'new' AND first_contacted_at IS NULL AND sla_due_at IS NOT NULL
            THEN date_trunc('month', sla_due_at AT TIME ZONE 'UTC')::date END,
        SUM(sign),
        COALESCE(SUM(sign) FILTER (WHERE next_action_due IS NULL), 0),
        COALESCE(SUM(sign) FILTER (WHERE status = 'new' AND first_contacted_at IS NULL AND sla_due_at IS NOT NULL), 0)
    FROM (SELECT 1 AS sign, * FROM leads_lead) AS d
    WHERE merged_into_id IS NULL AND status IN ('new', 'not_contacted', 'contacted', 'qualified')
    GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT (team_id, owner_id, source_id, wait_month) DO UPDATE SET
        leads = s.leads + EXCLUDED.leads,
        no_action = s.no_action + EXCLUDED.no_action,
        waiting = s.waiting + EXCLUDED.waiting;
    """


def with_zone(sql: str) -> str:
    zoneinfo.ZoneInfo(settings.TIME_ZONE)  # a real zone name, so it is safe to spell into the SQL
    return sql.replace("__TZ__", settings.TIME_ZONE)
