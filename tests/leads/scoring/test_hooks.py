"""The services rescore in their own transaction, with one statement, whatever the rules."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from leads import services
from leads.capture.services import Inquiry, attach_to_lead
from leads.models import Lead, LostReason, ScoringRule
from tests.factories import make_lead

pytestmark = pytest.mark.django_db

SCORING_STATEMENT = "UPDATE leads_lead AS l"


def scoring_statements(queries: CaptureQueriesContext) -> int:
    return sum(SCORING_STATEMENT in query["sql"] for query in queries.captured_queries)


def test_create_scores_the_new_lead(rep: User) -> None:
    lead = make_lead(rep, company="Acme")
    assert (lead.score, lead.scored_at is not None) == (20, True)
    stored = Lead.objects.get(pk=lead.pk)
    assert (stored.score, stored.score_rank) == (20, 20)


def test_update_rescores_and_the_instance_shows_it(rep: User) -> None:
    lead = make_lead(rep)
    assert lead.score == 10
    lead = services.lead_update(
        lead=lead, actor=rep, expected_version=lead.version, budget=Decimal("900")
    )
    assert lead.score == 25
    assert lead.score_breakdown == Lead.objects.get(pk=lead.pk).score_breakdown
    assert [item["label"] for item in lead.score_breakdown] == [
        "Budget stated",
        "Activity in the last 14 days",
    ]
    assert Lead.objects.get(pk=lead.pk).score == 25


def test_rollback_leaves_the_old_score(rep: User) -> None:
    lead = make_lead(rep)
    before = Lead.objects.values_list("score", "score_breakdown", "scored_at").get(pk=lead.pk)

    class Abort(Exception):
        pass

    seen_inside: list[int] = []

    def edit_then_fail() -> None:
        with transaction.atomic():
            services.lead_update(
                lead=lead, actor=rep, expected_version=lead.version, company="Acme"
            )
            seen_inside.append(Lead.objects.get(pk=lead.pk).score)
            raise Abort

    with pytest.raises(Abort):
        edit_then_fail()
    assert seen_inside == [20]  # rescored within the transaction
    after = Lead.objects.values_list("score", "score_breakdown", "scored_at").get(pk=lead.pk)
    assert after == before


def test_a_note_status_change_and_a_return_visit_rescore(rep: User, reason: LostReason) -> None:
    lead = make_lead(rep)
    services.lead_add_note(lead=lead, actor=rep, kind="note", body="Left a voicemail")
    labels = [item["label"] for item in Lead.objects.get(pk=lead.pk).score_breakdown]
    assert "Worked on" in labels
    services.lead_add_note(lead=lead, actor=rep, kind="call", body="Spoke")  # New → Contacted
    services.lead_add_note(lead=lead, actor=rep, kind="email", body="Sent pricing")
    lead.refresh_from_db()
    assert lead.status == Lead.Status.CONTACTED
    assert lead.score == 10 + 5 + 5
    ScoringRule.objects.create(name="Closed", condition="has_company", points=-50)
    services.lead_update(lead=lead, actor=rep, expected_version=lead.version, company="Acme")
    lead.refresh_from_db()
    assert lead.score == 0  # 10 + 10 + 5 + 5 - 50, clamped


def test_web_form_resubmission_through_capture_rescores(rep: User) -> None:
    from datetime import timedelta

    lead = make_lead(rep, email="back@example.com")
    inquiry = Inquiry(
        channel="web_form",
        label="Contact form",
        fields={"email": "back@example.com"},
        message="Me again",
        at=lead.created_at + timedelta(hours=2),
    )
    attach_to_lead(lead, inquiry)
    labels = [item["label"] for item in Lead.objects.get(pk=lead.pk).score_breakdown]
    assert "Came back through a web form" in labels


def test_a_lead_save_costs_one_scoring_statement_however_many_rules(rep: User) -> None:
    lead = make_lead(rep)
    with CaptureQueriesContext(connection) as few:
        lead = services.lead_update(
            lead=lead, actor=rep, expected_version=lead.version, company="Acme"
        )
    for i in range(30):
        ScoringRule.objects.create(name=f"Extra {i}", condition="need_described", points=1)
    with CaptureQueriesContext(connection) as many:
        lead = services.lead_update(lead=lead, actor=rep, expected_version=lead.version, need="CRM")
    assert scoring_statements(few) == scoring_statements(many) == 1
    assert len(many.captured_queries) == len(few.captured_queries)
    assert lead.score == 10 + 10 + 10 + 30


# A call on a new lead also moves it to Contacted (with its history): more statements,
# still one of them the score.
@pytest.mark.parametrize(("kind", "note_queries"), [("note", 9), ("call", 12)])
def test_query_counts_of_lead_writes_are_pinned(
    django_assert_max_num_queries, rep: User, kind: str, note_queries: int
) -> None:
    lead = make_lead(rep)
    with django_assert_max_num_queries(8) as update:
        lead = services.lead_update(
            lead=lead, actor=rep, expected_version=lead.version, company="Acme"
        )
    assert scoring_statements(update) == 1
    with django_assert_max_num_queries(note_queries) as noted:
        services.lead_add_note(lead=lead, actor=rep, kind=kind, body="Hello")
    assert scoring_statements(noted) == 1
    with django_assert_max_num_queries(12) as created:
        make_lead(rep, company="Beta")
    assert scoring_statements(created) == 1


def test_imported_leads_are_inserted_with_the_scores_rescore_gives(admin: User) -> None:
    from leads.scoring.services import rescore
    from tests.imports.helpers import csv_bytes, run

    content = csv_bytes(
        [
            ["First name", "Last name", "Email", "Company", "Job title", "Source", "Budget"],
            ["Ana", "Lima", "ana@example.com", "Acme", "CEO", "Referral", "5000"],
            ["Bo", "Berg", "bo@example.com", "", "", "", ""],
            ["Cy", "Ng", "cy@example.com", "Globex", "Intern", "", "12"],
        ]
    )
    report, _batch = run(admin, content)
    assert report.created == 3
    leads = list(Lead.objects.filter(email__endswith="@example.com").order_by("email"))
    scored = [(lead.score, lead.score_breakdown, lead.scored_at) for lead in leads]
    assert all(at is not None for _, _, at in scored)
    assert len({score for score, _, _ in scored}) == 3  # the rules told them apart
    # Scoring them again once stored changes nothing: the staged scores were the same.
    assert rescore([lead.pk for lead in leads]) == 0
    assert [lead.score_rank for lead in leads] == [score for score, _, _ in scored]
