"""The lead resource: who sees what (rep / manager / admin), the list's filters, search
and cursor, create with its duplicate check, and every write through the page's service
with ETag / If-Match."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone

from accounts.models import ApiToken, User
from crm.models import AuditEvent
from leads import services
from leads.models import Lead, LostReason, Source, Tag
from tests.api.conftest import Api, api_as, problem_of
from tests.factories import make_lead

pytestmark = pytest.mark.django_db

MEMORY_CACHE = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


def ids(response: Any) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


@pytest.fixture
def world(
    rep: User, rep_b: User, manager: User, other_manager: User, admin: User
) -> dict[str, Lead]:
    return {
        "rep": make_lead(rep, owner=rep, company="Rep Co"),
        "rep_b": make_lead(rep_b, owner=rep_b, company="Rep B Co"),
        "pool": make_lead(manager, company="Pool Co"),  # the team's unassigned pool
        "south": make_lead(other_manager, owner=other_manager, company="South Co"),
    }


# --- Who sees what -------------------------------------------------------------------------


def test_a_rep_lists_their_own_leads_and_their_teams_pool(
    rep: User, world: dict[str, Lead]
) -> None:
    assert ids(api_as(rep).get("/leads")) == {world["rep"].pk, world["pool"].pk}


def test_a_manager_lists_their_team(manager: User, world: dict[str, Lead]) -> None:
    assert ids(api_as(manager).get("/leads")) == {
        world["rep"].pk,
        world["rep_b"].pk,
        world["pool"].pk,
    }


def test_an_admin_lists_everything(admin: User, world: dict[str, Lead]) -> None:
    assert ids(api_as(admin).get("/leads")) == {lead.pk for lead in world.values()}


@pytest.mark.parametrize(
    ("who", "hidden"),
    [("rep", "rep_b"), ("rep", "south"), ("manager", "south"), ("rep_b", "rep")],
)
def test_a_lead_the_caller_cannot_see_is_404_for_every_verb(
    request: Any, world: dict[str, Lead], who: str, hidden: str
) -> None:
    api = api_as(request.getfixturevalue(who))
    lead = world[hidden]
    match = {"If-Match": f'"{lead.version}"'}
    for response in (
        api.get(f"/leads/{lead.pk}"),
        api.get(f"/leads/{lead.pk}/notes"),
        api.patch(f"/leads/{lead.pk}", {"company": "Mine now"}, **match),
        api.post(f"/leads/{lead.pk}/status", {"status": "contacted"}, **match),
        api.post(f"/leads/{lead.pk}/assign", {"owner": None}, **match),
        api.post(f"/leads/{lead.pk}/claim", **match),
        api.post(f"/leads/{lead.pk}/notes", {"body": "Hi"}),
    ):
        assert response.status_code == 404
        assert problem_of(response)["code"] == "not_found"
    lead.refresh_from_db()
    assert lead.version == 1
    assert lead.company != "Mine now"


def test_the_users_list_is_who_the_caller_may_see(
    rep: User, rep_b: User, manager: User, other_manager: User, admin: User
) -> None:
    def emails(user: User) -> set[str]:
        return {row["email"] for row in api_as(user).get("/users").json()}

    assert emails(rep) == {rep.email}
    assert emails(manager) == {rep.email, rep_b.email, manager.email}
    assert emails(admin) == {u.email for u in (rep, rep_b, manager, other_manager, admin)}


def test_the_lookups_list_sources_reasons_tags_and_stages(
    rep: User, tag: Tag, reason: LostReason
) -> None:
    api = api_as(rep)
    assert {"id": tag.pk, "name": tag.name} in api.get("/tags").json()
    assert reason.name in {row["name"] for row in api.get("/lost-reasons").json()}
    assert api.get("/sources").status_code == 200
    stages = api.get("/stages")
    assert stages.status_code == 200
    assert isinstance(stages.json(), list)


# --- The list ------------------------------------------------------------------------------


def test_the_list_takes_the_list_pages_filters_and_search(
    manager: User, rep: User, world: dict[str, Lead], tag: Tag
) -> None:
    api = api_as(manager)
    assert ids(api.get("/leads", {"owner": "none"})) == {world["pool"].pk}
    assert ids(api.get("/leads", {"owner": str(rep.pk)})) == {world["rep"].pk}
    assert ids(api.get("/leads", {"q": "Pool"})) == {world["pool"].pk}
    assert ids(api.get("/leads", {"q": world["rep"].number})) == {world["rep"].pk}
    services.lead_add_tags(lead=world["pool"], actor=manager, tags=[tag])
    assert ids(api.get("/leads", {"tag": [str(tag.pk)]})) == {world["pool"].pk}
    assert ids(api.get("/leads", {"status": ["contacted"]})) == set()
    assert ids(api.get("/leads", {"status": ["open"], "sort": "company"})) == {
        world["rep"].pk,
        world["rep_b"].pk,
        world["pool"].pk,
    }


def test_a_filter_the_list_page_refuses_is_422_with_its_message(manager: User) -> None:
    response = api_as(manager).get("/leads", {"q": "ab", "owner": "999999"})
    assert response.status_code == 422
    fields = problem_of(response)["field_errors"]
    assert fields["q"] == ["Type at least 3 characters to search."]
    assert "owner" in fields


def test_the_list_pages_with_a_keyset_cursor(rep: User) -> None:
    made = [make_lead(rep, owner=rep, last_name=f"P{n}").pk for n in range(5)]
    api = api_as(rep)
    seen: list[int] = []
    cursor = None
    for _ in range(4):
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        body = api.get("/leads", params).json()
        seen += [row["id"] for row in body["results"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(made, reverse=True)  # newest first, each once
    assert cursor is None


def test_the_list_row_carries_what_the_list_page_shows(rep: User, tag: Tag) -> None:
    lead = make_lead(rep, owner=rep, company="Acme", tags=[tag])
    row = api_as(rep).get("/leads").json()["results"][0]
    assert row["id"] == lead.pk
    assert row["number"] == lead.number
    assert row["owner"] == {"id": rep.pk, "name": str(rep), "email": rep.email}
    assert row["tags"] == [tag.name]
    assert row["version"] == 1
    assert row["url"] == f"/leads/{lead.pk}/"


# The token with its user, the user's permissions, their scope (a rep's teams; a manager's
# teams and people), the filters' choices in one UNION, the page: never the rows' count.
LIST_QUERIES = {"rep": 5, "manager": 6, "admin": 4}


@pytest.mark.parametrize("who", sorted(LIST_QUERIES))
@pytest.mark.parametrize("rows", [1, 50])
def test_the_list_makes_the_same_queries_for_1_or_50_rows(
    request: Any, who: str, rows: int, rep: User, tag: Tag, django_assert_num_queries: Any
) -> None:
    source = Source.objects.get_or_create(name="Referral")[0]
    for n in range(rows):
        make_lead(rep, owner=rep, last_name=f"Q{n}", source=source, tags=[tag])
    api = api_as(request.getfixturevalue(who))
    api.get("/leads")  # the token's first use writes its last_used_at
    # The rate limit's counters in memory: a database cache's queries (the zero-setup
    # path's) are not the list's.
    with override_settings(CACHES=MEMORY_CACHE), django_assert_num_queries(LIST_QUERIES[who]):
        response = api.get("/leads", {"status": ["open"], "limit": 50})
    assert len(response.json()["results"]) == rows


@pytest.mark.parametrize("who", sorted(LIST_QUERIES))
def test_one_lead_is_one_query_after_the_callers(
    request: Any, who: str, rep: User, tag: Tag, django_assert_num_queries: Any
) -> None:
    """The lead with its owner, source, lost reason and tag names in one query, after the
    same token, permissions and scope queries as the list (no choices to load)."""
    lead = make_lead(rep, owner=rep, tags=[tag])
    for n in range(5):
        services.lead_add_note(lead=lead, actor=rep, kind="note", body=f"Note {n}")
    api = api_as(request.getfixturevalue(who))
    api.get("/tags")  # the token's first use writes its last_used_at
    with override_settings(CACHES=MEMORY_CACHE), django_assert_num_queries(LIST_QUERIES[who] - 1):
        response = api.get(f"/leads/{lead.pk}")
    assert response.json()["tags"] == [tag.name]


# --- One lead and its ETag -----------------------------------------------------------------


def test_a_lead_comes_with_its_version_as_etag(rep: User, world: dict[str, Lead]) -> None:
    response = api_as(rep).get(f"/leads/{world['rep'].pk}")
    assert response.status_code == 200
    assert response["ETag"] == '"1"'
    body = response.json()
    assert body["version"] == 1
    assert body["company"] == "Rep Co"
    assert body["country"] == ""


def test_a_lead_merged_away_says_which_lead_it_lives_on_in(rep: User) -> None:
    from leads.merge.services import leads_merge

    survivor = make_lead(rep, owner=rep, email="same@example.com")
    gone = make_lead(rep, owner=rep, email="same@example.com")
    leads_merge(actor=rep, survivor=survivor, others=[gone], versions={survivor.pk: 1, gone.pk: 1})
    response = api_as(rep).get(f"/leads/{gone.pk}")
    assert response.status_code == 404
    body = problem_of(response)
    assert body["code"] == "merged"
    assert body["survivor_id"] == survivor.pk


# --- Create --------------------------------------------------------------------------------


def test_create_goes_through_lead_create(rep: User, tag: Tag) -> None:
    source = Source.objects.get_or_create(name="Referral")[0]
    response = api_as(rep).post(
        "/leads",
        {
            "first_name": "Maya",
            "last_name": "Ortiz",
            "email": "MAYA@Example.com",
            "company": "Ortiz GmbH",
            "country": "DE",
            "source": source.pk,
            "tags": [tag.pk],
            "new_tags": ["Reconnect in Q3"],
            "estimated_value": "1200.50",
            "next_action": "Call",
            "next_action_due": (timezone.now() + timedelta(days=1)).isoformat(),
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    lead = Lead.objects.get(pk=body["id"])
    assert response["Location"] == f"/api/v1/leads/{lead.pk}"
    assert response["ETag"] == '"1"'
    assert lead.owner == rep
    assert lead.email == "maya@example.com"
    assert lead.created_by == rep
    assert lead.source == source
    assert str(lead.country) == "DE"
    assert sorted(body["tags"]) == ["Priority", "Reconnect in Q3"]
    assert body["estimated_value"] == "1200.50"
    assert AuditEvent.objects.for_object(lead).filter(action="created").exists()


def test_create_answers_409_with_the_duplicates_unless_allowed(
    rep: User, world: dict[str, Lead]
) -> None:
    api = api_as(rep)
    data = {"first_name": "Ann", "last_name": "Other", "email": world["rep"].email}
    response = api.post("/leads", data)
    assert response.status_code == 409
    body = problem_of(response)
    assert body["code"] == "duplicate"
    assert [row["id"] for row in body["duplicates"]] == [world["rep"].pk]
    # Another rep's lead is counted and hinted at, never shown.
    hidden = api.post("/leads", {**data, "email": world["rep_b"].email})
    assert hidden.status_code == 409
    hidden_body = problem_of(hidden)
    assert hidden_body["duplicates"] == []
    assert hidden_body["hidden_duplicates"] == 1
    assert world["rep_b"].email not in hidden.content.decode()
    assert Lead.objects.count() == 4
    created = api.post("/leads", {**data, "allow_duplicate": True})
    assert created.status_code == 201
    assert Lead.objects.filter(email=world["rep"].email).count() == 2


def test_create_says_what_the_model_refuses(rep: User) -> None:
    api = api_as(rep)
    nameless = api.post("/leads", {"email": "x@example.com"})
    assert nameless.status_code == 422
    assert problem_of(nameless)["detail"] == "Enter a first or a last name."
    bad = api.post("/leads", {"first_name": "A", "email": "not-an-email", "website": "nope"})
    assert bad.status_code == 422
    fields = problem_of(bad)["field_errors"]
    assert fields["email"] == ["Enter a valid email address."]
    assert "website" in fields
    naive = api.post(
        "/leads",
        {
            "first_name": "A",
            "email": "a@example.com",
            "next_action": "x",
            "next_action_due": "2030-01-01T10:00",
        },
    )
    assert naive.status_code == 422
    assert "next_action_due" in problem_of(naive)["field_errors"]


def test_a_rep_may_not_give_a_new_lead_to_someone_else(
    rep: User, rep_b: User, manager: User
) -> None:
    refused = api_as(rep).post(
        "/leads", {"first_name": "A", "email": "a@example.com", "owner": manager.pk}
    )
    assert refused.status_code == 422  # not among the people a rep may pick
    assert "owner" in problem_of(refused)["field_errors"]
    given = api_as(manager).post(
        "/leads", {"first_name": "B", "email": "b@example.com", "owner": rep_b.pk}
    )
    assert given.status_code == 201
    assert Lead.objects.get(pk=given.json()["id"]).owner == rep_b


# --- Update, status, assign, claim: If-Match -------------------------------------------------


def test_a_change_without_if_match_is_428_and_a_stale_one_412(
    rep: User, manager: User, world: dict[str, Lead]
) -> None:
    lead = world["rep"]
    api = api_as(rep)
    missing = api.patch(f"/leads/{lead.pk}", {"company": "New"})
    assert missing.status_code == 428
    assert problem_of(missing)["code"] == "if_match_required"
    services.lead_update(
        lead=lead, actor=manager, expected_version=1, company="Manager Co", job_title="CTO"
    )
    stale = api.patch(f"/leads/{lead.pk}", {"company": "New"}, **{"If-Match": '"1"'})
    assert stale.status_code == 412
    body = problem_of(stale)
    assert body["code"] == "stale"
    assert set(body["changed_fields"]) == {"company", "job_title"}
    assert body["current_version"] == 2
    assert stale["ETag"] == '"2"'
    assert body["detail"].startswith(services.CONFLICT)
    assert str(manager) in body["detail"]
    fresh = api.patch(f"/leads/{lead.pk}", {"company": "New"}, **{"If-Match": stale["ETag"]})
    assert fresh.status_code == 200
    assert fresh["ETag"] == '"3"'
    assert fresh.json()["company"] == "New"
    lead.refresh_from_db()
    assert lead.company == "New"
    assert lead.job_title == "CTO"
    garbled = api.patch(f"/leads/{lead.pk}", {"company": "X"}, **{"If-Match": "*"})
    assert garbled.status_code == 400
    assert problem_of(garbled)["code"] == "if_match_invalid"


def test_patch_changes_only_the_fields_sent(rep: User, world: dict[str, Lead], tag: Tag) -> None:
    lead = world["rep"]
    response = api_as(rep).patch(
        f"/leads/{lead.pk}", {"job_title": "CEO", "tags": [tag.pk]}, **{"If-Match": '"1"'}
    )
    assert response.status_code == 200, response.content
    lead.refresh_from_db()
    assert lead.job_title == "CEO"
    assert lead.company == "Rep Co"
    assert [t.name for t in lead.tags.all()] == [tag.name]
    event = AuditEvent.objects.for_object(lead).get(action="updated")
    assert set(event.changes) == {"job title", "tags"}


def test_a_rep_may_not_edit_the_pool_before_claiming_it(rep: User, world: dict[str, Lead]) -> None:
    pool = world["pool"]
    api = api_as(rep)
    refused = api.patch(f"/leads/{pool.pk}", {"company": "Mine"}, **{"If-Match": '"1"'})
    assert refused.status_code == 403
    assert problem_of(refused) == {
        "detail": services.CLAIM_FIRST,
        "code": "claim_first",
        "field_errors": {},
    }
    claimed = api.post(f"/leads/{pool.pk}/claim", **{"If-Match": '"1"'})
    assert claimed.status_code == 200
    assert claimed.json()["owner"]["id"] == rep.pk
    assert claimed["ETag"] == '"2"'
    assert (
        api.patch(f"/leads/{pool.pk}", {"company": "Mine"}, **{"If-Match": '"2"'}).status_code
        == 200
    )


def test_claim_needs_if_match_and_refuses_a_taken_lead(
    rep: User, rep_b: User, world: dict[str, Lead]
) -> None:
    pool = world["pool"]
    assert api_as(rep).post(f"/leads/{pool.pk}/claim").status_code == 428
    services.lead_claim(lead=pool, actor=rep_b)
    late = api_as(rep).post(f"/leads/{pool.pk}/claim", **{"If-Match": '"1"'})
    # Now rep_b's: rep cannot even see it any more.
    assert late.status_code == 404


def test_status_moves_through_the_service_with_its_rules(
    rep: User, world: dict[str, Lead], reason: LostReason
) -> None:
    lead = world["rep"]
    api = api_as(rep)
    moved = api.post(f"/leads/{lead.pk}/status", {"status": "contacted"}, **{"If-Match": '"1"'})
    assert moved.status_code == 200
    assert moved.json()["status"] == "contacted"
    assert moved.json()["first_contacted_at"] is not None
    no_reason = api.post(f"/leads/{lead.pk}/status", {"status": "lost"}, **{"If-Match": '"2"'})
    assert no_reason.status_code == 422
    assert problem_of(no_reason) == {
        "detail": services.REASON_REQUIRED.format(status="Lost"),
        "code": "refused",
        "field_errors": {},
    }
    converted = api.post(f"/leads/{lead.pk}/status", {"status": "converted"}, **{"If-Match": '"2"'})
    assert problem_of(converted)["detail"] == services.CONVERT_ONLY_BY_CONVERSION
    unknown = api.post(
        f"/leads/{lead.pk}/status", {"status": "lost", "reason": 999999}, **{"If-Match": '"2"'}
    )
    assert unknown.status_code == 422
    assert "reason" in problem_of(unknown)["field_errors"]
    lost = api.post(
        f"/leads/{lead.pk}/status", {"status": "lost", "reason": reason.pk}, **{"If-Match": '"2"'}
    )
    assert lost.status_code == 200
    assert lost.json()["lost_reason"] == {"id": reason.pk, "name": reason.name}
    reopen = api.post(f"/leads/{lead.pk}/status", {"status": "new"}, **{"If-Match": '"3"'})
    assert problem_of(reopen)["detail"] == services.REOPEN_NEEDS_MANAGER


def test_assign_is_for_managers_to_their_people(
    rep: User, rep_b: User, manager: User, other_manager: User, world: dict[str, Lead]
) -> None:
    lead = world["pool"]
    refused = api_as(rep).post(f"/leads/{lead.pk}/assign", {"owner": rep.pk}, **{"If-Match": '"1"'})
    assert refused.status_code == 403
    assert problem_of(refused)["detail"] == services.ASSIGN_NOT_ALLOWED
    api = api_as(manager)
    outsider = api.post(
        f"/leads/{lead.pk}/assign", {"owner": other_manager.pk}, **{"If-Match": '"1"'}
    )
    assert outsider.status_code == 422
    assert "owner" in problem_of(outsider)["field_errors"]
    given = api.post(f"/leads/{lead.pk}/assign", {"owner": rep_b.pk}, **{"If-Match": '"1"'})
    assert given.status_code == 200
    assert given.json()["owner"]["id"] == rep_b.pk
    back = api.post(f"/leads/{lead.pk}/assign", {"owner": None}, **{"If-Match": '"2"'})
    assert back.status_code == 200
    assert back.json()["owner"] is None


# --- Notes ---------------------------------------------------------------------------------


def test_notes_are_logged_and_listed(rep: User, world: dict[str, Lead]) -> None:
    lead = world["rep"]
    api = api_as(rep)
    call = api.post(
        f"/leads/{lead.pk}/notes", {"kind": "call", "body": "Spoke to Ann", "outcome": "Keen"}
    )
    assert call.status_code == 201, call.content
    assert call.json()["author"]["id"] == rep.pk
    # A logged call is the first contact: the lead moved on, and the ETag says so.
    assert call["ETag"] == '"2"'
    lead.refresh_from_db()
    assert lead.status == "contacted"
    api.post(f"/leads/{lead.pk}/notes", {"body": "Second"})
    listed = api.get(f"/leads/{lead.pk}/notes", {"limit": 1}).json()
    assert [note["body"] for note in listed["results"]] == ["Second"]
    rest = api.get(f"/leads/{lead.pk}/notes", {"cursor": listed["next_cursor"]}).json()
    assert [note["body"] for note in rest["results"]] == ["Spoke to Ann"]
    assert rest["next_cursor"] is None
    stale = api.post(f"/leads/{lead.pk}/notes", {"body": "Late"}, **{"If-Match": '"1"'})
    assert stale.status_code == 412
    empty = api.post(f"/leads/{lead.pk}/notes", {"body": "   "})
    assert empty.status_code == 422
    assert "body" in problem_of(empty)["field_errors"]


def test_a_rep_may_not_log_on_another_reps_lead_a_manager_may(
    rep: User, manager: User, world: dict[str, Lead]
) -> None:
    pool = world["pool"]
    refused = api_as(rep).post(f"/leads/{pool.pk}/notes", {"body": "Hi"})
    assert refused.status_code == 403
    assert problem_of(refused)["code"] == "claim_first"
    assert api_as(manager).post(f"/leads/{pool.pk}/notes", {"body": "Hi"}).status_code == 201


def test_a_read_scope_token_cannot_claim(rep: User, world: dict[str, Lead]) -> None:
    api = Api(api_as(rep, scope=ApiToken.Scope.READ).headers["Authorization"].split()[1])
    response = api.post(f"/leads/{world['pool'].pk}/claim", **{"If-Match": '"1"'})
    assert response.status_code == 403
    assert problem_of(response)["code"] == "insufficient_scope"
