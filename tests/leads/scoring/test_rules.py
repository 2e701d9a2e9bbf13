"""Each default rule against a hand-built lead, the breakdown, clamping and the decay."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import User
from leads import services
from leads.models import Lead, LeadNote, ScoringRule, Source
from leads.scoring.services import rescore, suggested_rate
from tests.factories import make_lead

pytestmark = pytest.mark.django_db

RECENT = "Activity in the last 14 days"


def breakdown(lead: Lead) -> dict[str, int]:
    lead.refresh_from_db()
    return {item["label"]: item["points"] for item in lead.score_breakdown}


def note(lead: Lead, kind: str, *, minutes_after: int = 5) -> None:
    """A timeline entry written straight to the table (the rules are under test here,
    the services' hooks in test_hooks)."""
    LeadNote.objects.create(
        lead=lead,
        kind=kind,
        body="x",
        created_at=lead.created_at + timedelta(minutes=minutes_after),
    )


def referral() -> Source:
    return Source.objects.get(name="Referral")


# (rule, fields that make it hold, fields that do not)
FIT_CASES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("Has a company", {"company": "Acme"}, {"company": "  "}),
    ("Decision-maker job title", {"job_title": "Co-founder & CEO"}, {"job_title": "Sales rep"}),
    ("Decision-maker job title", {"job_title": "head of growth"}, {"job_title": "Headhunter"}),
    ("Decision-maker job title", {"job_title": "VP Sales"}, {"job_title": "Executive assistant"}),
    ("Budget stated", {"budget": Decimal("5000")}, {"budget": Decimal("0")}),
    ("Talking to the decision maker", {"authority": "decision_maker"}, {"authority": "user"}),
    ("Need described", {"need": "Too many spreadsheets"}, {"need": ""}),
    ("Buying within 90 days", {"timeline": "quarter"}, {"timeline": "year"}),
    ("Buying within 90 days", {"timeline": "now"}, {"timeline": "later"}),
]


@pytest.mark.parametrize(("rule", "holds", "fails"), FIT_CASES)
def test_each_fit_rule_gives_its_points_only_when_it_holds(
    rep: User, rule: str, holds: dict[str, Any], fails: dict[str, Any]
) -> None:
    points = ScoringRule.objects.get(name=rule).points
    yes = make_lead(rep, **holds)
    no = make_lead(rep, **fails)
    assert breakdown(yes) == {rule: points, RECENT: 10}
    assert yes.score == points + 10
    assert breakdown(no) == {RECENT: 10}
    assert no.score == 10


def test_director_is_not_taken_for_cto(rep: User) -> None:
    """Whole words: "direCTOr" holds "CTO" as letters, not as a word — yet Director is
    itself a listed word, so the rule gives its points once, not twice."""
    lead = make_lead(rep, job_title="Director")
    assert breakdown(lead) == {"Decision-maker job title": 15, RECENT: 10}
    ScoringRule.objects.filter(name="Decision-maker job title").update(title_words=["CTO"])
    rescore([lead.pk])
    assert breakdown(lead) == {RECENT: 10}


def test_source_rule(rep: User) -> None:
    assert breakdown(make_lead(rep, source=referral())) == {"Came by referral": 10, RECENT: 10}
    other = Source.objects.get_or_create(name="Cold call")[0]
    assert breakdown(make_lead(rep, source=other)) == {RECENT: 10}


def test_country_rule_shipped_off_then_on(rep: User) -> None:
    lead = make_lead(rep, country="DE")
    assert breakdown(lead) == {RECENT: 10}
    ScoringRule.objects.filter(name="In our territory").update(is_active=True, countries="AT,DE")
    rescore([lead.pk])
    assert breakdown(lead) == {"In our territory": 5, RECENT: 10}
    ScoringRule.objects.filter(name="In our territory").update(countries="FR")
    rescore([lead.pk])
    assert breakdown(lead) == {RECENT: 10}


def test_activity_rules_count_our_work(rep: User) -> None:
    lead = make_lead(rep)
    note(lead, "call")
    rescore([lead.pk])
    assert breakdown(lead) == {"Worked on": 5, RECENT: 10}
    note(lead, "meeting")
    note(lead, "note")
    rescore([lead.pk])
    assert breakdown(lead) == {"Worked on": 5, "Worked on three times or more": 5, RECENT: 10}


def test_replies_and_web_form_returns_count_only_after_the_lead_existed(rep: User) -> None:
    """The email or form a lead was created from is its origin, not a reply or a return."""
    lead = make_lead(rep)
    note(lead, "email_in", minutes_after=0)
    note(lead, "web_form", minutes_after=0)
    rescore([lead.pk])
    assert breakdown(lead) == {RECENT: 10}
    note(lead, "email_in")
    note(lead, "web_form", minutes_after=60)
    rescore([lead.pk])
    assert breakdown(lead) == {
        "Replied by email": 10,
        "Came back through a web form": 10,
        RECENT: 10,
    }


def test_recent_activity_and_decay_by_whole_weeks(rep: User) -> None:
    lead = make_lead(rep, company="Acme", need="CRM")  # 10 + 10, and recent 10
    assert lead.score == 30
    at = lead.last_activity_at
    rescore([lead.pk], at=at + timedelta(days=6, hours=23))
    assert breakdown(lead) == {"Has a company": 10, "Need described": 10, RECENT: 10}
    # A whole week without activity costs 5, though the lead is still "recent".
    rescore([lead.pk], at=at + timedelta(days=13))
    assert breakdown(lead) == {
        "Has a company": 10,
        "Need described": 10,
        RECENT: 10,
        "No activity for 1 week": -5,
    }
    assert lead.score == 25
    # 20 days: no longer recent, two whole weeks of decay (5 each).
    rescore([lead.pk], at=at + timedelta(days=20))
    lead.refresh_from_db()
    assert lead.score == 10
    assert lead.score_breakdown[-1] == {
        "rule": None,
        "label": "No activity for 2 weeks",
        "points": -10,
    }
    # Years of silence: the decay takes it to 0, never below.
    rescore([lead.pk], at=at + timedelta(days=3 * 365))
    lead.refresh_from_db()
    assert lead.score == 0
    assert lead.score_breakdown[-1]["points"] == -100


def test_decay_rate_comes_from_the_lead_settings(rep: User) -> None:
    from leads.models import LeadSettings

    LeadSettings.objects.filter(pk=1).update(score_decay_per_week=0)
    lead = make_lead(rep, company="Acme")
    rescore([lead.pk], at=lead.last_activity_at + timedelta(days=60))
    assert breakdown(lead) == {"Has a company": 10}


def test_full_breakdown_in_rule_order_and_clamped_to_100(rep: User) -> None:
    lead = make_lead(
        rep,
        company="Acme",
        job_title="Head of Sales",
        budget=Decimal("5000"),
        authority="decision_maker",
        need="Replace spreadsheets",
        timeline="quarter",
        source=referral(),
    )
    assert lead.score == 95  # 85 fit + 10 recent
    for _ in range(3):
        note(lead, "call")
    assert rescore([lead.pk]) == 1
    lead.refresh_from_db()
    assert [(item["label"], item["points"]) for item in lead.score_breakdown] == [
        ("Has a company", 10),
        ("Decision-maker job title", 15),
        ("Budget stated", 15),
        ("Talking to the decision maker", 15),
        ("Need described", 10),
        ("Buying within 90 days", 10),
        ("Came by referral", 10),
        ("Worked on", 5),
        ("Worked on three times or more", 5),
        (RECENT, 10),
    ]
    assert sum(item["points"] for item in lead.score_breakdown) == 105
    assert lead.score == 100
    ids = set(ScoringRule.objects.values_list("pk", flat=True))
    assert {item["rule"] for item in lead.score_breakdown} <= ids


def test_negative_rule_and_clamp_at_zero(rep: User) -> None:
    ScoringRule.objects.create(
        name="Students never buy", condition="title_words", title_words=["student"], points=-30
    )
    lead = make_lead(rep, job_title="PhD Student")
    assert breakdown(lead) == {RECENT: 10, "Students never buy": -30}
    assert lead.score == 0
    assert lead.scored_at is not None


def test_inactive_rule_gives_nothing(rep: User) -> None:
    ScoringRule.objects.filter(name="Has a company").update(is_active=False)
    assert breakdown(make_lead(rep, company="Acme")) == {RECENT: 10}


def test_unchanged_scores_are_not_rewritten(rep: User) -> None:
    lead = make_lead(rep, company="Acme")
    lead.refresh_from_db()
    first = lead.scored_at
    assert rescore([lead.pk]) == 0
    lead.refresh_from_db()
    assert lead.scored_at == first
    ScoringRule.objects.filter(name="Has a company").update(points=20)
    assert rescore([lead.pk, lead.pk]) == 1
    lead.refresh_from_db()
    assert lead.score == 30
    assert first is not None
    assert lead.scored_at is not None
    assert lead.scored_at > first
    assert rescore([]) == 0


def test_a_rate_set_by_a_person_stays(rep: User) -> None:
    lead = make_lead(rep, company="Acme", rate="cold")
    lead = services.lead_update(
        lead=lead,
        actor=rep,
        expected_version=lead.version,
        job_title="CEO",
        budget=Decimal("1"),
        authority="decision_maker",
        need="CRM",
    )
    assert lead.score == 75
    rescore([lead.pk], at=timezone.now())
    lead.refresh_from_db()
    assert lead.rate == "cold"
    assert suggested_rate(lead.score, (70, 40)) == "hot"


@pytest.mark.parametrize(
    ("score", "rate"),
    [(None, ""), (0, "cold"), (39, "cold"), (40, "warm"), (69, "warm"), (70, "hot"), (100, "hot")],
)
def test_suggested_rate_bands(score: int | None, rate: str) -> None:
    assert suggested_rate(score, (70, 40)) == rate
