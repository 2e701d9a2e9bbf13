"""The reads every new lead makes are written out in SQL (the ORM took longer to compile
them than the database to answer, see ``benchmark_webforms``). These tests hold each to
the models and querysets it stands for, so the two cannot drift apart."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import close_old_connections, connection, transaction
from django.db.models import Case, Value, When

from accounts.models import Membership, User
from accounts.roles import Role
from deals.models import Deal, Stage
from deals.receivers import _contacts_open_deal
from leads.assignment.services import ActiveRule, active_rules, route
from leads.capture.services import WEB_FORM, Inquiry, find_known_lead
from leads.models import AssignmentRule, Lead, LostReason, Source, Tag
from tests.deals.helpers import ensure_stages, make_deal
from tests.factories import add_to_team, make_lead, make_team, make_user

pytestmark = pytest.mark.django_db


def _orm_known_lead(email: str, phone: str) -> Lead | None:
    by_email = Case(When(email=email, then=Value(0)), default=Value(1)) if email else Value(1)
    return (
        Lead.objects.open()
        .same_contact(email=email, phone_normalized=phone)
        .order_by(by_email, "-created_at", "-pk")
        .first()
    )


def test_the_known_lead_is_the_one_same_contact_finds() -> None:
    rep = make_user(email="rep@example.com", first_name="Rita", role=Role.REP)
    older = make_lead(rep, email="ann@example.com", phone="+49 30 1234567", country="DE")
    by_phone = make_lead(rep, email="other@example.com", phone="030 1234567", country="DE")
    closed = make_lead(rep, email="cleo@example.com")
    reason = LostReason.objects.get_or_create(name="No budget")[0]
    Lead.objects.filter(pk=closed.pk).update(status=Lead.Status.UNQUALIFIED, lost_reason=reason)
    Lead.objects.filter(pk=older.pk).update(created_at=older.created_at - timedelta(days=1))
    merged = make_lead(rep, email="mia@example.com")
    survivor = make_lead(rep, email="mia.new@example.com")
    Lead.objects.filter(pk=merged.pk).update(merged_into=survivor, merged_at=survivor.created_at)
    phone = by_phone.phone_normalized
    assert phone == older.phone_normalized  # the same person's phone, written two ways
    cases = [
        ("ann@example.com", ""),
        ("ann@example.com", phone),  # the email wins over a newer lead with the phone
        ("", phone),  # the newest with the phone
        ("nobody@example.com", phone),
        ("cleo@example.com", ""),  # closed: not an open lead
        ("mia@example.com", ""),  # merged away: its survivor is the lead now
        ("nobody@example.com", ""),
        ("", ""),
    ]
    for email, number in cases:
        expected = _orm_known_lead(email, number)
        found = find_known_lead(email, number)
        assert (found.pk if found else None) == (expected.pk if expected else None), email
    found = find_known_lead("ANN@example.com ", "")
    assert found is not None
    assert found.pk == older.pk
    assert found.owner.email == "rep@example.com"
    assert found.number == older.number


def test_the_known_lead_reads_in_one_query(django_assert_num_queries: object) -> None:
    rep = make_user(email="rep@example.com", first_name="Rita", role=Role.REP)
    lead = make_lead(rep, email="ann@example.com")
    with django_assert_num_queries(1):  # type: ignore[operator]
        found = find_known_lead("ann@example.com", "")
        assert found is not None
        assert (found.owner.first_name, found.full_name, found.version) == (
            "Rita",
            lead.full_name,
            lead.version,
        )


def test_the_active_rules_are_what_the_models_hold() -> None:
    web = Source.objects.get_or_create(name="Web form")[0]
    vip = Tag.objects.create(name="VIP")
    team = make_team(name="Inside Sales")
    maya = add_to_team(team, make_user(email="maya@example.com", first_name="Maya"))
    gone = add_to_team(team, make_user(email="gone@example.com"))
    boss = add_to_team(team, make_user(email="boss@example.com"), Membership.Role.MANAGER)
    noah = add_to_team(team, make_user(email="noah@example.com"))
    person = make_user(email="pat@example.com", first_name="Pat")
    User.objects.filter(pk=gone.pk).update(is_active=False)
    User.objects.filter(pk=noah.pk).update(lead_capacity=3)
    User.objects.filter(pk=person.pk).update(lead_capacity=5)
    second = AssignmentRule.objects.create(name="Team", position=2, team=team)
    AssignmentRule.objects.filter(pk=second.pk).update(countries=["DE"])
    second.sources.set([web])
    second.tags.set([vip])
    first = AssignmentRule.objects.create(name="Pat", position=1, user=person, web_form_ids=[7])
    AssignmentRule.objects.create(name="Off", position=0, user=person, is_active=False)

    rules = active_rules()

    assert [r.rule.pk for r in rules] == [first.pk, second.pk]
    pat, inside = rules
    assert (pat.rule.user.email, pat.rule.user.first_name, pat.rule.user.lead_capacity) == (
        "pat@example.com",
        "Pat",
        5,
    )
    assert pat.rule.web_form_ids == [7]
    assert pat.source_ids == []
    assert pat.members == []
    assert inside.source_ids == [web.pk]
    assert inside.tag_ids == [vip.pk]
    assert list(inside.rule.countries) == ["DE"]
    assert str(inside.rule.team) == "Inside Sales"
    # Active members only (not managers, not the deactivated), by id, with capacities.
    assert [(m.pk, m.lead_capacity) for m in inside.members] == [(maya.pk, None), (noah.pk, 3)]
    assert gone.pk not in {m.pk for m in inside.members}
    assert boss.pk not in {m.pk for m in inside.members}
    assert isinstance(inside, ActiveRule)


@pytest.mark.django_db(transaction=True)
def test_a_turn_waits_for_the_lead_before_it_and_takes_the_next_member() -> None:
    """The first lead holds the rule's row until it commits; the second, routed meanwhile,
    waits and then goes to the member after the first's (not the same one)."""
    team = make_team(name="Inside Sales")
    people = [add_to_team(team, make_user(email=f"m{i}@example.com")) for i in range(3)]
    AssignmentRule.objects.create(name="Round", position=0, team=team)
    holding, release = threading.Event(), threading.Event()
    chosen: dict[str, User | None] = {}
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with transaction.atomic():
                chosen["first"] = route(Lead(email="a@example.com")).owner
                holding.set()
                release.wait(10)
        except BaseException as error:  # reported by the main thread
            errors.append(error)
        finally:
            close_old_connections()
            connection.close()

    def second() -> None:
        try:
            with transaction.atomic():
                chosen["second"] = route(Lead(email="b@example.com")).owner
        except BaseException as error:
            errors.append(error)
        finally:
            close_old_connections()
            connection.close()

    one = threading.Thread(target=first)
    one.start()
    assert holding.wait(10)
    two = threading.Thread(target=second)
    two.start()
    time.sleep(0.5)
    assert "second" not in chosen  # waiting on the rule's row
    release.set()
    one.join(10)
    two.join(10)
    assert errors == []
    a, b = chosen["first"], chosen["second"]
    assert a is not None
    assert b is not None
    assert people.index(b) == (people.index(a) + 1) % 3


def test_a_contacts_open_deal_is_what_the_models_hold(rep: User) -> None:
    stages = ensure_stages()
    deal = make_deal(rep, email="dora@example.com", phone="+1 415 555 0100", country="US")
    other = make_deal(rep, email="eve@example.com")
    Deal.objects.filter(pk=other.pk).update(stage=stages["Won"])
    contact = deal.contact
    assert contact is not None

    def lookup(email: str = "", phone: str = "") -> int | None:
        fields = {"email": email, "phone": phone, "country": "US"}
        found = _contacts_open_deal(Inquiry(channel=WEB_FORM, label="Test", fields=fields))
        return found.pk if found else None

    assert lookup("dora@example.com") == deal.pk
    assert lookup("nobody@example.com", "(415) 555-0100") == deal.pk  # the same number
    assert lookup("eve@example.com") is None  # won: not open
    assert lookup() is None
    assert Stage.objects.get(pk=deal.stage_id).kind == Stage.Kind.OPEN
    found = _contacts_open_deal(
        Inquiry(channel=WEB_FORM, label="Test", fields={"email": "dora@example.com"})
    )
    assert found is not None
    assert found.owner.email == rep.email
    assert found.title == deal.title
