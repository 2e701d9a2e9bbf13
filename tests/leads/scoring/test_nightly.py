"""The nightly run: every lead rescored (decay applied) in id ranges, by the beat task and
by ``manage.py score_leads``; a second run writes nothing."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from accounts.models import User
from leads.models import Lead
from leads.scoring import tasks
from leads.scoring.services import rescore_all
from tests.factories import make_lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def three(rep: User) -> list[Lead]:
    """Fresh (20), idle for 15 days (company 10 - 2 weeks' decay 10 = 0) and never scored
    (company 10 + recent 10 = 20 once scored)."""
    fresh = make_lead(rep, company="Acme")
    idle = make_lead(rep, company="Beta")
    Lead.objects.filter(pk=idle.pk).update(last_activity_at=timezone.now() - timedelta(days=15))
    unscored = make_lead(rep, company="Gamma")
    Lead.objects.filter(pk=unscored.pk).update(scored_at=None, score=0, score_breakdown=[])
    return [fresh, idle, unscored]


def scores(leads: list[Lead]) -> list[tuple[int, bool]]:
    found = dict(Lead.objects.values_list("pk", "score"))
    return [(found[lead.pk], Lead.objects.get(pk=lead.pk).scored_at is not None) for lead in leads]


def test_task_rescores_all_with_decay_and_is_idempotent(three: list[Lead]) -> None:
    report = tasks.score_leads()
    assert report["leads"] == 3
    assert report["changed"] == 2  # the idle one and the never-scored one
    assert report["chunks"] == 1
    assert scores(three) == [(20, True), (0, True), (20, True)]
    idle = Lead.objects.get(pk=three[1].pk)
    assert idle.score_breakdown == [
        {"rule": idle.score_breakdown[0]["rule"], "label": "Has a company", "points": 10},
        {"rule": None, "label": "No activity for 2 weeks", "points": -10},
    ]
    assert tasks.score_leads()["changed"] == 0


def test_chunks_cover_every_id(three: list[Lead]) -> None:
    report = rescore_all(chunk=1)
    ids = sorted(lead.pk for lead in three)
    assert report.chunks == ids[-1] - ids[0] + 1
    assert report.changed == 2
    assert scores(three) == [(20, True), (0, True), (20, True)]


def test_command_prints_one_json_line(three: list[Lead]) -> None:
    out = io.StringIO()
    call_command("score_leads", "--chunk", "2", stdout=out)
    last = out.getvalue().strip().splitlines()[-1]
    figures = json.loads(last)
    assert (figures["leads"], figures["changed"]) == (3, 2)
    assert set(figures) == {"leads", "changed", "chunks", "seconds"}


def test_command_refuses_a_bad_chunk(three: list[Lead]) -> None:
    err = io.StringIO()
    with pytest.raises(SystemExit):
        call_command("score_leads", "--chunk", "0", stderr=err)
    assert "--chunk must be between 1" in err.getvalue()


def test_no_leads_no_chunks(db: None) -> None:
    assert rescore_all().as_json()["chunks"] == 0


def test_beat_runs_it_nightly() -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["lead-scores"]
    assert entry["task"] == tasks.score_leads.name == "leads.scoring.tasks.score_leads"
    assert entry["schedule"].hour == {2}
