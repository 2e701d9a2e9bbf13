"""Automatic assignment: ordered rules route every new lead nobody owns (any channel), to
one person or a team's members in turn, skipping the inactive and those at capacity; the
reason is in the lead's history; owners and, for unrouted leads, managers are told."""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
from django.db import close_old_connections, connection

from accounts.models import Membership, Team, User
from accounts.roles import Role
from crm.models import AuditEvent, Notification
from leads import services
from leads.assignment.services import NO_RULE, Routing
from leads.models import AssignmentRule, Lead, Source, Tag
from tests.factories import add_to_team, make_lead, make_team, make_user

pytestmark = pytest.mark.django_db


def _new(**fields: Any) -> Lead:
    """A lead that arrived by itself (nobody's, no actor), as a web form or email makes it."""
    routing = fields.pop("routing", None)
    tags = fields.pop("tags", ())
    data = {"first_name": "Vera", "last_name": "Visitor", "email": "vera@example.com"}
    return services.lead_create(actor=None, routing=routing, tags=tags, **{**data, **fields})


def _rule(name: str, position: int = 0, **fields: Any) -> AssignmentRule:
    sources = fields.pop("sources", [])
    tags = fields.pop("tags", [])
    rule = AssignmentRule.objects.create(name=name, position=position, **fields)
    rule.sources.set(sources)
    rule.tags.set(tags)
    return rule


@pytest.fixture
def inside(db: None) -> Team:
    return make_team(name="Inside Sales")


@pytest.fixture
def members(inside: Team) -> list[User]:
    return [
        add_to_team(inside, make_user(email=f"{name}@example.com", first_name=name.title()))
        for name in ("maya", "noah", "olga")
    ]


@pytest.fixture
def web(db: None) -> Source:
    return Source.objects.get_or_create(name="Web form")[0]


def _history(lead: Lead) -> str:
    return AuditEvent.objects.get(target_id=lead.pk, action=AuditEvent.Action.CREATED).note


def test_the_first_matching_rule_in_order_wins(rep: User, rep_b: User, web: Source) -> None:
    _rule("Later", position=20, user=rep_b)
    _rule("Web leads", position=10, user=rep, sources=[web])
    _rule("Nothing from here", position=1, user=rep_b, region="Nowhere")
    lead = _new(source=web)
    assert lead.owner == rep
    assert _history(lead) == f"Rule “Web leads” → {rep}"
    assert _new(email="other@example.com").owner == rep_b  # no source: only "Later" matches


@pytest.mark.parametrize(
    ("condition", "matching", "other"),
    [
        ("country", {"country": "DE"}, {"country": "FR"}),
        ("region", {"region": " bavaria "}, {"region": "Hesse"}),
        ("value", {"estimated_value": Decimal("5000")}, {"estimated_value": Decimal("50")}),
        ("no value", {"estimated_value": Decimal("100")}, {}),
        ("web form", {"routing": Routing(web_form_id=7)}, {"routing": Routing(web_form_id=8)}),
        ("mailbox", {"routing": Routing(mailbox_id=3)}, {"routing": Routing(web_form_id=3)}),
    ],
)
def test_each_condition_must_match(
    rep: User, condition: str, matching: dict[str, Any], other: dict[str, Any]
) -> None:
    conditions: dict[str, dict[str, Any]] = {
        "country": {"countries": ["DE", "AT", "CH"]},
        "region": {"region": "Bavaria"},
        "value": {"min_value": Decimal("1000"), "max_value": Decimal("10000")},
        "no value": {"min_value": Decimal("0")},
        "web form": {"web_form_ids": [7]},
        "mailbox": {"mailbox_ids": [3]},
    }
    fields = conditions[condition]
    _rule("Only these", user=rep, **fields)
    assert _new(**matching).owner == rep
    lead = _new(email="else@example.com", **other)
    assert lead.owner is None
    assert _history(lead) == NO_RULE


def test_a_tag_condition_matches_any_of_its_tags(rep: User, tag: Tag) -> None:
    other = Tag.objects.create(name="Event")
    _rule("Tagged", user=rep, tags=[tag, other])
    assert _new(tags=[other]).owner == rep
    assert _new(email="untagged@example.com").owner is None


def test_all_conditions_of_a_rule_must_match(rep: User, web: Source) -> None:
    _rule("DACH web", user=rep, sources=[web], countries=["DE"])
    assert _new(source=web, country="FR").owner is None
    assert _new(email="b@example.com", source=web, country="DE").owner == rep


def test_an_inactive_rule_is_skipped(rep: User, rep_b: User) -> None:
    _rule("Off", position=1, user=rep, is_active=False)
    _rule("On", position=2, user=rep_b)
    assert _new().owner == rep_b


def test_round_robin_takes_turns_and_says_so(inside: Team, members: list[User]) -> None:
    _rule("DACH inbound", team=inside)
    owners = [_new(email=f"v{i}@example.com").owner for i in range(7)]
    maya, noah, olga = members
    assert owners == [maya, noah, olga, maya, noah, olga, maya]
    lead = Lead.objects.get(email="v1@example.com")
    assert _history(lead) == f"Rule “DACH inbound” → round-robin Inside Sales → {noah}"
    assert lead.team == inside


def test_round_robin_skips_the_inactive_and_those_at_capacity(
    inside: Team, members: list[User], manager: User
) -> None:
    maya, noah, olga = members
    noah.is_active = False
    noah.save(update_fields=["is_active"])
    olga.lead_capacity = 1
    olga.save(update_fields=["lead_capacity"])
    add_to_team(inside, manager, Membership.Role.MANAGER)  # managers take no turns
    _rule("Inside", team=inside)
    owners = [_new(email=f"c{i}@example.com").owner for i in range(4)]
    assert owners == [maya, olga, maya, maya]  # Olga is full after one


def test_a_full_team_leaves_the_lead_in_the_pool_and_tells_the_managers(
    inside: Team, members: list[User], manager: User
) -> None:
    add_to_team(inside, manager, Membership.Role.MANAGER)
    for person in members:
        person.lead_capacity = 0
        person.save(update_fields=["lead_capacity"])
    _rule("Inside", team=inside)
    lead = _new()
    assert lead.owner is None
    assert _history(lead) == "Rule “Inside”: everyone in Inside Sales is at capacity."
    told = Notification.objects.get(kind=Notification.Kind.UNROUTED)
    assert told.user == manager
    assert told.body == _history(lead)


def test_a_person_at_capacity_or_inactive_gets_nothing(rep: User) -> None:
    _rule("Rep", user=rep)
    rep.lead_capacity = 0
    rep.save(update_fields=["lead_capacity"])
    assert _new().owner is None
    rep.lead_capacity = None
    rep.is_active = False
    rep.save(update_fields=["lead_capacity", "is_active"])
    assert _history(_new(email="x@example.com")).endswith("is inactive; left unassigned.")


def test_no_rule_leaves_the_lead_in_its_teams_pool_and_tells_its_managers(
    team: Team, manager: User, other_manager: User
) -> None:
    lead = services.lead_create(
        actor=None, team=team, first_name="Pia", last_name="Pool", email="pia@example.com"
    )
    assert (lead.owner, lead.team) == (None, team)
    assert _history(lead) == NO_RULE
    told = Notification.objects.filter(kind=Notification.Kind.UNROUTED)
    assert [n.user for n in told] == [manager]  # not the other team's
    assert told[0].url == lead.get_absolute_url()


def test_a_manager_entering_an_unowned_lead_gets_it_routed_but_is_not_told(
    manager: User, rep: User
) -> None:
    lead = make_lead(manager, email="typed@example.com")
    assert lead.owner is None
    assert not Notification.objects.filter(user=manager).exists()
    _rule("To the rep", user=rep)
    routed = make_lead(manager, email="typed2@example.com")
    assert routed.owner == rep
    assert Notification.objects.get(user=rep).kind == Notification.Kind.LEAD_RECEIVED


def test_a_rep_keeps_what_they_type_in(rep: User, rep_b: User) -> None:
    _rule("Everything to B", user=rep_b)
    assert make_lead(rep).owner == rep  # a rep's own lead is theirs, no rule asked
    assert not Notification.objects.exists()


def test_every_lead_received_is_told_to_its_new_owner(manager: User, rep: User) -> None:
    """By a rule, by a manager's assignment, and by a manager's bulk assignment (which
    used to tell nobody)."""
    _rule("Rep", user=rep)
    by_rule = _new()
    lead = make_lead(manager, owner=manager, email="mine@example.com")
    services.lead_assign_owner(lead=lead, actor=manager, owner=rep)
    bulk = [make_lead(manager, owner=manager, email=f"b{i}@example.com") for i in range(2)]
    services.lead_bulk_apply(actor=manager, leads=bulk, action="assign", owner=rep)
    told = Notification.objects.filter(user=rep, kind=Notification.Kind.LEAD_RECEIVED)
    assert {n.target_id for n in told} == {by_rule.pk, lead.pk, *(b.pk for b in bulk)}
    assert told.get(target_id=lead.pk).body == f"Assigned by {manager}."


def test_managers_can_route_selected_unassigned_leads(
    manager: User, rep: User, rep_b: User, team: Team
) -> None:
    waiting = [make_lead(manager, email=f"w{i}@example.com") for i in range(3)]
    owned = make_lead(manager, owner=rep_b, email="owned@example.com")
    _rule("Now to the rep", user=rep)
    result = services.lead_bulk_apply(actor=manager, leads=[*waiting, owned], action="route")
    assert {lead.pk for lead in result.done} == {lead.pk for lead in waiting}
    assert [lead.pk for lead, _ in result.skipped] == [owned.pk]
    assert set(
        Lead.objects.filter(pk__in=[w.pk for w in waiting]).values_list("owner", flat=True)
    ) == {rep.pk}
    event = AuditEvent.objects.filter(
        target_id=waiting[0].pk, action=AuditEvent.Action.ASSIGNED
    ).get()
    assert event.note == f"Rule “Now to the rep” → {rep}"


def test_a_rep_cannot_route_leads(rep: User, manager: User) -> None:
    lead = make_lead(manager, email="w@example.com")
    result = services.lead_bulk_apply(actor=rep, leads=[lead], action="route")
    assert not result.done


@pytest.mark.django_db(transaction=True)
def test_round_robin_is_fair_with_two_threads_at_once() -> None:
    """100 leads from two threads at the same moment: the rule's row lock makes them take
    turns, so three members get 34/33/33 and no two leads in a row go to the same one."""
    inside = make_team(name="Inside Sales")
    people = [
        add_to_team(inside, make_user(email=f"p{i}@example.com", role=Role.REP)) for i in range(3)
    ]
    _rule("Round", team=inside)
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def submit(offset: int) -> None:
        try:
            start.wait()
            for i in range(50):
                _new(email=f"t{offset + i}@example.com")
        except BaseException as error:  # reported by the main thread
            errors.append(error)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=submit, args=(n * 50,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    owners = list(Lead.objects.order_by("created_at", "pk").values_list("owner", flat=True))
    assert len(owners) == 100
    assert sorted(Counter(owners).values()) == [33, 33, 34]
    # In commit order (the pointer's order), every lead went to the next member.
    by_event = list(
        AuditEvent.objects.filter(action=AuditEvent.Action.CREATED)
        .order_by("pk")
        .values_list("note", flat=True)
    )
    names = [note.rsplit("→ ", 1)[1] for note in by_event]
    assert all(a != b for a, b in itertools.pairwise(names))
    assert {str(p) for p in people} == set(names)


def test_an_admin_writes_a_rule_in_the_admin(admin: User, inside: Team, rep: User) -> None:
    from django.test import Client

    client = Client()
    client.force_login(admin)
    url = "/admin/leads/assignmentrule/add/"
    assert client.get(url).status_code == 200
    data = {"name": "DACH inbound", "position": "1", "is_active": "on", "countries": ["DE", "AT"]}
    both = client.post(url, {**data, "user": rep.pk, "team": inside.pk})
    assert both.status_code == 200  # one target, not two
    assert not AssignmentRule.objects.exists()
    response = client.post(url, {**data, "team": inside.pk})
    assert response.status_code == 302
    rule = AssignmentRule.objects.get()
    assert (rule.team, list(map(str, rule.countries))) == (inside, ["AT", "DE"])
    assert "DACH inbound" in client.get("/admin/leads/assignmentrule/").content.decode()
