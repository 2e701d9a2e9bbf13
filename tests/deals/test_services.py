"""Conversion, stage moves and their history, the lost-reason rule, forecast arithmetic."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import User
from crm.followups import services as followups
from crm.models import AuditEvent
from deals import services
from deals.models import Company, Contact, Deal, DealStageChange, Stage
from deals.selectors import forecast_by_month, stage_totals
from leads import services as lead_services
from leads.models import Lead, LostReason
from tests.deals.helpers import ensure_stages, make_deal, qualified_lead
from tests.factories import make_lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def stages() -> dict[str, Stage]:
    return ensure_stages()


# --- Conversion -----------------------------------------------------------------------------


def test_convert_creates_deal_contact_and_company_and_links_them(
    rep: User, stages: dict[str, Stage]
) -> None:
    lead = qualified_lead(
        rep,
        company="Acme Corp",
        email="buyer@acme.com",
        website="https://www.acme.com",
        job_title="CTO",
    )
    deal = services.lead_convert(
        lead=lead,
        actor=rep,
        title="Acme rollout",
        value=Decimal("12000"),
        stage=stages["Meeting set"],
        expected_close_date=date(2027, 1, 31),
    )
    lead.refresh_from_db()
    assert lead.status == Lead.Status.CONVERTED
    assert lead.converted_at is not None
    assert lead.closed_at == lead.converted_at
    assert lead.deal == deal  # linked both ways
    assert deal.source_lead == lead
    assert (deal.owner, deal.team_id, deal.value) == (rep, lead.team_id, Decimal("12000"))
    assert deal.next_action == "Send proposal"
    assert deal.contact.email == "buyer@acme.com"
    assert deal.contact.source_lead == lead
    assert deal.contact.company == deal.company
    assert (deal.company.name, deal.company.domain) == ("Acme Corp", "acme.com")
    assert list(
        DealStageChange.objects.filter(deal=deal).values_list("from_stage", "to_stage")
    ) == [(None, stages["Meeting set"].pk)]
    converted = AuditEvent.objects.for_object(lead).filter(action=AuditEvent.Action.CONVERTED)
    assert converted.get().changes == {"status": ["Qualified", "Converted"]}


def test_open_tasks_follow_the_lead_onto_its_deal(rep: User, stages: dict[str, Stage]) -> None:
    lead = qualified_lead(rep)
    due = timezone.now() + timedelta(days=1)
    open_task = followups.task_create(actor=rep, title="Send the proposal", due_at=due, lead=lead)
    done_task = followups.task_create(actor=rep, title="Discovery call", due_at=due, lead=lead)
    followups.task_complete(task=done_task, actor=rep)
    deal = services.lead_convert(
        lead=lead,
        actor=rep,
        title="Rollout",
        value=Decimal("100"),
        stage=stages["Meeting set"],
        expected_close_date=date(2027, 1, 31),
    )
    open_task.refresh_from_db()
    done_task.refresh_from_db()
    assert (open_task.lead_id, open_task.deal_id) == (None, deal.pk)
    assert (done_task.lead_id, done_task.deal_id) == (lead.pk, None)  # history stays put


def test_convert_links_existing_contact_and_company_instead_of_duplicating(
    rep: User, stages: dict[str, Stage]
) -> None:
    first = make_deal(rep, company="Globex", email="hank@globex.com")
    again = qualified_lead(rep, company="GLOBEX", email="hank@globex.com", first_name="Hank")
    assert services.matching_contacts(rep, again) == [first.contact]
    assert services.matching_companies(rep, again) == [first.company]
    deal = services.lead_convert(
        lead=again,
        actor=rep,
        title="Globex renewal",
        value=Decimal("500"),
        stage=stages["Proposal sent"],
        contact=first.contact,
        company=first.company,
    )
    assert (deal.contact, deal.company) == (first.contact, first.company)
    assert Contact.objects.count() == 1
    assert Company.objects.count() == 1


def test_only_a_qualified_lead_converts(rep: User, stages: dict[str, Stage]) -> None:
    lead = make_lead(rep, company="Early")
    with pytest.raises(ValidationError) as error:
        services.lead_convert(
            lead=lead, actor=rep, title="Too soon", value=Decimal(1), stage=stages["Meeting set"]
        )
    assert error.value.messages == [services.CONVERT_NOT_QUALIFIED]
    assert not Deal.objects.exists()


def test_a_lead_converts_once(rep: User, stages: dict[str, Stage]) -> None:
    deal = make_deal(rep)
    with pytest.raises(ValidationError) as error:
        services.lead_convert(
            lead=deal.source_lead,
            actor=rep,
            title="Again",
            value=Decimal(1),
            stage=stages["Meeting set"],
        )
    assert error.value.messages == [services.CONVERT_ALREADY]


def test_converting_needs_the_permission_and_the_lead(
    rep: User, rep_b: User, stages: dict[str, Stage]
) -> None:
    from django.contrib.auth.models import Group, Permission

    lead = qualified_lead(rep, company="Perm")
    with pytest.raises(ValidationError) as error:
        services.lead_convert(
            lead=lead, actor=rep_b, title="Not mine", value=Decimal(1), stage=stages["Meeting set"]
        )
    assert error.value.messages == [lead_services.NOT_YOUR_LEAD.format(owner=rep)]
    Group.objects.get(name="Sales rep").permissions.remove(
        Permission.objects.get(codename="convert_lead")
    )
    rep = User.objects.get(pk=rep.pk)
    with pytest.raises(ValidationError) as error:
        services.lead_convert(
            lead=lead, actor=rep, title="No perm", value=Decimal(1), stage=stages["Meeting set"]
        )
    assert error.value.messages == [services.CONVERT_NOT_ALLOWED]


def test_a_deal_starts_in_an_open_stage(rep: User, stages: dict[str, Stage]) -> None:
    lead = qualified_lead(rep)
    with pytest.raises(ValidationError) as error:
        services.lead_convert(
            lead=lead, actor=rep, title="Won already", value=Decimal(1), stage=stages["Won"]
        )
    assert error.value.messages == [services.CONVERT_NEEDS_OPEN_STAGE]


def test_a_failed_conversion_leaves_nothing_behind(
    rep: User, stages: dict[str, Stage], monkeypatch: pytest.MonkeyPatch
) -> None:
    lead = qualified_lead(rep, company="Halfway Inc", email="half@way.com")

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the stage history table is on fire")

    monkeypatch.setattr(services, "_record_stage", broken)
    with pytest.raises(RuntimeError):
        services.lead_convert(
            lead=lead, actor=rep, title="Doomed", value=Decimal(1), stage=stages["Meeting set"]
        )
    lead.refresh_from_db()
    assert lead.status == Lead.Status.QUALIFIED
    assert not Company.objects.exists()
    assert not Contact.objects.exists()
    assert not Deal.objects.exists()


# --- Stage moves ----------------------------------------------------------------------------


def test_moves_are_kept_in_the_stage_history(rep: User, stages: dict[str, Stage]) -> None:
    deal = make_deal(rep)
    deal = services.deal_move_stage(deal=deal, actor=rep, stage=stages["Proposal sent"])
    deal = services.deal_move_stage(deal=deal, actor=rep, stage=stages["Won"])
    moves = [(c.from_stage, c.to_stage) for c in deal.stage_changes.all()]
    assert moves == [
        (None, stages["Meeting set"]),
        (stages["Meeting set"], stages["Proposal sent"]),
        (stages["Proposal sent"], stages["Won"]),
    ]
    assert deal.closed_at is not None
    assert deal.version == 3
    last = AuditEvent.objects.for_object(deal).first()
    assert last.changes == {"stage": ["Proposal sent", "Won"]}


def test_lost_needs_a_reason(rep: User, stages: dict[str, Stage], reason: LostReason) -> None:
    deal = make_deal(rep)
    with pytest.raises(ValidationError) as error:
        services.deal_move_stage(deal=deal, actor=rep, stage=stages["Lost"])
    assert error.value.messages == [services.LOST_NEEDS_REASON]
    deal = services.deal_move_stage(deal=deal, actor=rep, stage=stages["Lost"], lost_reason=reason)
    assert (deal.lost_reason, deal.closed_at is not None) == (reason, True)


def test_reopening_is_for_managers(
    rep: User, manager: User, stages: dict[str, Stage], reason: LostReason
) -> None:
    deal = make_deal(rep)
    deal = services.deal_move_stage(deal=deal, actor=rep, stage=stages["Lost"], lost_reason=reason)
    with pytest.raises(ValidationError) as error:
        services.deal_move_stage(deal=deal, actor=rep, stage=stages["Negotiation"])
    assert error.value.messages == [services.REOPEN_DEAL_NEEDS_MANAGER]
    deal = services.deal_move_stage(deal=deal, actor=manager, stage=stages["Negotiation"])
    assert (deal.closed_at, deal.lost_reason) == (None, None)


def test_a_stale_move_is_refused(rep: User, manager: User, stages: dict[str, Stage]) -> None:
    deal = make_deal(rep)
    seen = deal.version
    services.deal_move_stage(deal=deal, actor=manager, stage=stages["Negotiation"])
    with pytest.raises(services.DealConflict):
        services.deal_move_stage(
            deal=deal, actor=rep, stage=stages["Proposal sent"], expected_version=seen
        )


def test_a_rep_cannot_move_another_reps_deal(
    rep: User, rep_b: User, stages: dict[str, Stage]
) -> None:
    deal = make_deal(rep)
    with pytest.raises(ValidationError):
        services.deal_move_stage(deal=deal, actor=rep_b, stage=stages["Won"])


# --- Forecast and totals --------------------------------------------------------------------


def test_forecast_weights_value_by_probability_per_close_month(
    rep: User, stages: dict[str, Stage], reason: LostReason
) -> None:
    a = make_deal(rep, value="1000", stage="Meeting set")  # 20 %
    b = make_deal(rep, value="2000", stage="Negotiation")  # 75 %
    c = make_deal(rep, value="400", stage="Meeting set")
    lost = make_deal(rep, value="9999")
    Deal.objects.filter(pk__in=[a.pk, b.pk]).update(expected_close_date=date(2027, 1, 10))
    Deal.objects.filter(pk=c.pk).update(expected_close_date=date(2027, 2, 1), probability=90)
    Deal.objects.filter(pk=lost.pk).update(expected_close_date=date(2027, 1, 5))
    services.deal_move_stage(deal=lost, actor=rep, stage=stages["Lost"], lost_reason=reason)
    months = forecast_by_month(Deal.objects.all())
    assert [(m.month, m.count, m.value, m.weighted) for m in months] == [
        (date(2027, 1, 1), 2, Decimal("3000"), Decimal("1700.00")),  # 200 + 1500
        (date(2027, 2, 1), 1, Decimal("400"), Decimal("360.00")),  # own 90 % overrides 20 %
    ]


def test_stage_totals(rep: User, stages: dict[str, Stage]) -> None:
    make_deal(rep, value="100")
    make_deal(rep, value="250")
    totals = stage_totals(Deal.objects.all())
    meeting = totals[stages["Meeting set"].pk]
    assert meeting["count"] == 2
    assert meeting["totals"] == [
        {"currency": "USD", "total": Decimal("350"), "weighted": Decimal("70.00")}
    ]


def test_stage_totals_never_add_currencies_together(rep: User, stages: dict[str, Stage]) -> None:
    make_deal(rep, value="100")
    euro = make_deal(rep, value="40")
    Deal.objects.filter(pk=euro.pk).update(currency="EUR")
    totals = stage_totals(Deal.objects.all())[stages["Meeting set"].pk]
    assert totals["count"] == 2
    assert [(t["currency"], t["total"]) for t in totals["totals"]] == [
        ("USD", Decimal("100")),
        ("EUR", Decimal("40")),
    ]


def test_a_converted_lead_is_read_only(rep: User, stages: dict[str, Stage]) -> None:
    deal = make_deal(rep, company="Frozen")
    lead = deal.source_lead
    with pytest.raises(ValidationError) as error:
        lead_services.lead_update(lead=lead, actor=rep, expected_version=None, company="Thawed")
    assert error.value.messages == [lead_services.CONVERTED_IS_READ_ONLY]
    with pytest.raises(ValidationError):
        lead_services.lead_set_next_action(lead=lead, actor=rep, next_action="", due=None)
    lead.refresh_from_db()
    assert lead.company == "Frozen"
