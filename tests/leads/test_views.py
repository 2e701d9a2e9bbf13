"""Lead pages: who sees what (the scoping matrix), what each page does, query counts."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from crm.models import AuditEvent
from leads import services
from leads.models import Lead, LeadNote, LostReason, Tag
from tests.factories import make_lead

pytestmark = pytest.mark.django_db

Status = Lead.Status


@pytest.fixture
def lead(rep: User) -> Lead:
    """Rep A's lead, in the North team."""
    return make_lead(
        rep, first_name="Rita", last_name="Owned", company="Acme", email="rita@acme.com"
    )


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def export_rows(client: Client, query: str = "") -> list[list[str]]:
    response = client.get(reverse("leads:export") + query)
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


# --- The scoping matrix ---------------------------------------------------------------------

ACTORS = {
    # actor fixture: (sees, and so may work on, the lead; may assign it)
    "rep": (True, False),
    "rep_b": (False, False),
    "manager": (True, True),
    "other_manager": (False, False),
    "admin": (True, True),
}


@pytest.mark.parametrize("actor", ACTORS)
def test_list_detail_and_export_show_a_lead_only_to_those_who_see_it(
    request: pytest.FixtureRequest, actor: str, lead: Lead
) -> None:
    sees, _ = ACTORS[actor]
    client = client_for(request.getfixturevalue(actor))
    assert (lead.number in client.get(reverse("leads:list")).content.decode()) is sees
    assert client.get(reverse("leads:detail", args=[lead.pk])).status_code == (200 if sees else 404)
    numbers = [row[0] for row in export_rows(client)[1:]]
    assert (lead.number in numbers) is sees


@pytest.mark.parametrize("actor", ACTORS)
def test_every_action_on_a_lead_is_404_for_those_who_cannot_see_it(
    request: pytest.FixtureRequest, actor: str, lead: Lead, rep: User
) -> None:
    sees, may_assign = ACTORS[actor]
    user = request.getfixturevalue(actor)
    client = client_for(user)
    due = (timezone.localtime() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    actions: list[tuple[str, dict[str, object]]] = [
        ("edit", {"first_name": "Changed", "last_name": "Owned", "email": "rita@acme.com"}),
        ("status", {"status": Status.CONTACTED}),
        ("next_action", {"next_action": "Call back", "next_action_due": due}),
        ("note", {"kind": "note", "body": "Hello"}),
        ("claim", {}),
        ("assign", {"owner": ""}),
    ]
    for name, data in actions:
        version = Lead.objects.get(pk=lead.pk).version  # what the page would carry
        response = client.post(
            reverse(f"leads:{name}", args=[lead.pk]), {**data, "version": version}
        )
        if not sees:
            assert response.status_code == 404, name
        else:
            assert response.status_code in (200, 302), name
    lead.refresh_from_db()
    if not sees:
        assert lead.first_name == "Rita"
        assert lead.status == Status.NEW
        assert lead.owner == rep
        assert not LeadNote.objects.filter(lead=lead).exists()
        assert AuditEvent.objects.for_object(lead).count() == 1  # only "created"
    else:
        assert lead.first_name == "Changed"
        assert lead.next_action == "Call back"
        assert LeadNote.objects.filter(lead=lead, author=user).exists()
        # The last action moves it to the pool: only those who may assign could.
        assert (lead.owner is None) is may_assign


def test_a_rep_cannot_assign_by_posting_directly(rep: User, rep_b: User, lead: Lead) -> None:
    response = client_for(rep).post(
        reverse("leads:assign", args=[lead.pk]),
        {"owner": rep_b.pk, "version": lead.version},
        follow=True,
    )
    assert services.ASSIGN_NOT_ALLOWED in response.content.decode()
    lead.refresh_from_db()
    assert lead.owner == rep


def test_a_rep_sees_and_claims_the_unassigned_pool(manager: User, rep: User, rep_b: User) -> None:
    pooled = make_lead(manager, first_name="Pool", email="pool@example.com")
    for user in (rep, rep_b):
        assert client_for(user).get(reverse("leads:detail", args=[pooled.pk])).status_code == 200
    response = client_for(rep).post(reverse("leads:claim", args=[pooled.pk]), follow=True)
    assert "The lead is yours now." in response.content.decode()
    assert client_for(rep_b).get(reverse("leads:detail", args=[pooled.pk])).status_code == 404


def test_bulk_is_refused_to_reps_and_scoped_for_managers(
    rep: User, rep_b: User, manager: User, other_manager: User, lead: Lead, tag: Tag
) -> None:
    data = {"action": "tag", "tag": tag.pk, "leads": [lead.pk]}
    response = client_for(rep).post(reverse("leads:bulk"), data, follow=True)
    assert "Your role does not allow bulk changes." in response.content.decode()
    response = client_for(other_manager).post(reverse("leads:bulk"), data, follow=True)
    assert "Skipped 1 lead(s) that are not visible to you." in response.content.decode()
    assert not lead.tags.exists()
    response = client_for(manager).post(reverse("leads:bulk"), data, follow=True)
    assert "Updated 1 lead(s)." in response.content.decode()
    assert list(lead.tags.all()) == [tag]


def test_bulk_status_reports_the_rows_it_skipped(
    manager: User, rep: User, reason: LostReason
) -> None:
    leads = [make_lead(rep) for _ in range(3)]
    response = client_for(manager).post(
        reverse("leads:bulk"),
        {"action": "status", "status": Status.LOST, "leads": [lead.pk for lead in leads]},
        follow=True,
    )
    html = response.content.decode()
    assert "Choose a reason to mark this lead Lost." in html
    assert all(
        lead.status == Status.NEW
        for lead in Lead.objects.filter(pk__in=[lead.pk for lead in leads])
    )
    client_for(manager).post(
        reverse("leads:bulk"),
        {
            "action": "status",
            "status": Status.LOST,
            "reason": reason.pk,
            "leads": [lead.pk for lead in leads],
        },
    )
    assert Lead.objects.filter(pk__in=[lead.pk for lead in leads], status=Status.LOST).count() == 3


def test_posts_need_a_csrf_token(rep: User, lead: Lead) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(rep)
    response = client.post(reverse("leads:status", args=[lead.pk]), {"status": "contacted"})
    assert response.status_code == 403


def test_the_status_page_refuses_get(rep: User, lead: Lead) -> None:
    assert client_for(rep).get(reverse("leads:status", args=[lead.pk])).status_code == 405


# --- Detail page ----------------------------------------------------------------------------


def test_detail_offers_only_allowed_moves_and_explains_refusals(rep: User, lead: Lead) -> None:
    client = client_for(rep)
    html = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert 'value="contacted"' in html
    assert 'value="converted"' not in html
    response = client.post(
        reverse("leads:status", args=[lead.pk]),
        {"status": Status.QUALIFIED, "version": lead.version},
        follow=True,
    )
    assert services.QUALIFIED_NEEDS_NEXT_ACTION in response.content.decode()


def test_detail_timeline_merges_notes_and_changes(rep: User, lead: Lead) -> None:
    services.lead_add_note(lead=lead, actor=rep, kind="call", body="Spoke to <b>Rita</b>")
    html = client_for(rep).get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert "Spoke to &lt;b&gt;Rita&lt;/b&gt;" in html  # escaped
    assert "New → <strong>Contacted</strong>" in html
    assert "Logged a call" in html


def test_detail_shows_possible_duplicates(rep: User, lead: Lead) -> None:
    twin = make_lead(rep, first_name="R.", last_name="Owned", company="ACME", email="other@x.com")
    html = client_for(rep).get(reverse("leads:detail", args=[twin.pk])).content.decode()
    assert "Possible duplicates" in html
    assert lead.number in html


# --- Create and edit ------------------------------------------------------------------------


def lead_form(**overrides: object) -> dict[str, object]:
    return {"first_name": "Nora", "last_name": "New", "email": "nora@new.com", **overrides}


def test_create_warns_about_duplicates_before_saving(rep: User, lead: Lead) -> None:
    client = client_for(rep)
    response = client.post(reverse("leads:create"), lead_form(email="RITA@acme.com"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "This may be a lead you already have" in html
    assert lead.number in html
    assert Lead.objects.count() == 1
    response = client.post(
        reverse("leads:create"), lead_form(email="rita@acme.com", save_anyway="1")
    )
    assert response.status_code == 302
    assert Lead.objects.count() == 2


def test_create_warns_about_a_duplicate_the_rep_cannot_open(rep_b: User, lead: Lead) -> None:
    response = client_for(rep_b).post(
        reverse("leads:create"), lead_form(phone="", email="rita@acme.com")
    )
    html = response.content.decode()
    assert "1 matching lead belongs to" in html
    assert lead.number not in html  # existence only, no details, no link


def test_create_shows_form_errors_in_place_and_keeps_the_input(rep: User) -> None:
    response = client_for(rep).post(
        reverse("leads:create"), lead_form(email="", phone="", company="Keep me")
    )
    html = response.content.decode()
    assert "Enter an email address or a phone number." in html
    assert 'value="Keep me"' in html
    assert not Lead.objects.exists()


def test_create_rejects_a_next_action_without_due(rep: User) -> None:
    response = client_for(rep).post(reverse("leads:create"), lead_form(next_action="Call"))
    assert "A next action needs a due date" in response.content.decode()


def test_edit_refuses_a_concurrent_overwrite_and_keeps_the_input(
    rep: User, manager: User, lead: Lead
) -> None:
    seen = lead.version
    services.lead_update(lead=lead, actor=manager, expected_version=seen, job_title="CEO")
    response = client_for(rep).post(
        reverse("leads:edit", args=[lead.pk]),
        lead_form(
            first_name="Rita",
            last_name="Owned",
            email="rita@acme.com",
            company="Mine",
            version=seen,
        ),
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert services.CONFLICT in html
    assert "job title" in html
    assert 'value="Mine"' in html
    lead.refresh_from_db()
    assert (lead.company, lead.job_title) == ("Acme", "CEO")


def test_edit_is_refused_to_a_rep_on_a_pool_lead(manager: User, rep: User) -> None:
    pooled = make_lead(manager, email="pool@x.com")
    response = client_for(rep).get(reverse("leads:edit", args=[pooled.pk]), follow=True)
    assert services.CLAIM_FIRST in response.content.decode()


# --- List: filters, search, sorting, pagination ----------------------------------------------


@pytest.fixture
def many(rep: User, rep_b: User, manager: User) -> list[Lead]:
    leads = [
        make_lead(
            rep,
            first_name="Zed",
            last_name="Zimmer",
            company="Globex",
            email="zed@globex.com",
            phone="+1 555 010 0001",
        ),
        make_lead(
            rep, first_name="Amy", last_name="Adams", company="Initech", email="amy@initech.com"
        ),
        make_lead(
            rep_b, first_name="Bob", last_name="Brown", company="Globex Europe", email="bob@g.eu"
        ),
        make_lead(
            manager, first_name="Pat", last_name="Pool", company="Umbrella", email="pat@u.com"
        ),
    ]
    services.lead_set_next_action(
        lead=leads[1], actor=rep, next_action="Chase", due=timezone.now() - timedelta(hours=2)
    )
    return leads


def listed(client: Client, query: str) -> list[str]:
    response = client.get(reverse("leads:list") + query)
    assert response.status_code == 200
    return [lead.number for lead in response.context["page"].rows]


def test_search_by_company_fragment_email_and_phone(manager: User, many: list[Lead]) -> None:
    client = client_for(manager)
    assert set(listed(client, "?q=globex")) == {many[0].number, many[2].number}
    assert listed(client, "?q=amy@initech.com") == [many[1].number]
    assert listed(client, "?q=555-010-0001") == [many[0].number]
    assert listed(client, "?q=zed zimmer") == [many[0].number]


def test_too_short_a_search_says_so(manager: User, many: list[Lead]) -> None:
    response = client_for(manager).get(reverse("leads:list") + "?q=gl")
    assert "Type at least 3 characters to search." in response.content.decode()


def test_filters_and_saved_views(rep: User, manager: User, many: list[Lead]) -> None:
    client = client_for(manager)
    assert set(listed(client, "?owner=none")) == {many[3].number}
    assert set(listed(client, f"?owner={rep.pk}")) == {many[0].number, many[1].number}
    assert listed(client, "?due=overdue") == [many[1].number]
    assert many[1].number not in listed(client, "?due=missing")
    assert set(listed(client, "?status=new&status=contacted")) == {lead.number for lead in many}
    rep_view = client_for(rep)
    assert set(listed(rep_view, "?owner=me")) == {many[0].number, many[1].number}
    assert many[2].number not in listed(rep_view, "")  # rep B's lead


def test_sla_view_lists_new_leads_waiting_too_long(manager: User, many: list[Lead]) -> None:
    # Each lead's own deadline counts (set on arrival from the response target).
    Lead.objects.filter(pk=many[0].pk).update(sla_due_at=timezone.now() - timedelta(hours=6))
    assert listed(client_for(manager), "?sla=breached") == [many[0].number]


def test_sorting_and_keyset_pages(manager: User, rep: User) -> None:
    for i in range(7):
        make_lead(rep, last_name=f"Name{i}", email=f"p{i}@example.com")
    client = client_for(manager)
    from leads import views

    views_per_page = views.PER_PAGE
    views.PER_PAGE = 3
    try:
        first = client.get(reverse("leads:list") + "?sort=name")
        page = first.context["page"]
        assert [lead.last_name for lead in page.rows] == ["Name0", "Name1", "Name2"]
        second = client.get(reverse("leads:list") + f"?sort=name&cursor={page.next_cursor}")
        page2 = second.context["page"]
        assert [lead.last_name for lead in page2.rows] == ["Name3", "Name4", "Name5"]
        back = client.get(reverse("leads:list") + f"?sort=name&before={page2.previous_cursor}")
        assert [lead.last_name for lead in back.context["page"].rows] == ["Name0", "Name1", "Name2"]
        garbage = client.get(reverse("leads:list") + "?cursor=not-a-cursor&sort=nonsense")
        assert garbage.status_code == 200
    finally:
        views.PER_PAGE = views_per_page


def test_htmx_requests_get_only_the_results(manager: User, many: list[Lead]) -> None:
    response = client_for(manager).get(reverse("leads:list"), headers={"HX-Request": "true"})
    html = response.content.decode()
    assert '<div id="results">' in html
    assert "<nav" in html
    assert "navbar" not in html
    assert response["Vary"].count("HX-Request") == 1


def test_empty_list_says_what_to_do(rep: User) -> None:
    html = client_for(rep).get(reverse("leads:list")).content.decode()
    assert "No leads yet. Capture the first one." in html


# --- Export ---------------------------------------------------------------------------------


def test_export_follows_the_filters_and_neutralises_formulas(manager: User, rep: User) -> None:
    make_lead(
        rep,
        first_name='=HYPERLINK("http://x")',
        last_name="+1",
        company="@SUM(A1)",
        email="f@x.com",
    )
    make_lead(rep, first_name="Plain", email="plain@x.com", company="Other")
    rows = export_rows(client_for(manager), "?q=x.com")
    header, *body = rows
    assert header[:3] == ["Lead number", "First name", "Last name"]
    formula = next(row for row in body if row[5] == "f@x.com")
    assert formula[1] == '\'=HYPERLINK("http://x")'
    assert formula[2] == "'+1"
    assert formula[3] == "'@SUM(A1)"
    assert len(export_rows(client_for(manager), "?q=plain@x.com")) == 2


def test_export_needs_the_export_permission(rep: User) -> None:
    from django.contrib.auth.models import Group, Permission

    group = Group.objects.get(name="Sales rep")
    group.permissions.remove(Permission.objects.get(codename="export_records"))
    assert Client().get(reverse("leads:export")).status_code == 302
    assert client_for(User.objects.get(pk=rep.pk)).get(reverse("leads:export")).status_code == 403


# --- Query counts: constant in the number of rows shown ---------------------------------------


@pytest.mark.parametrize("rows", [2, 40])
@pytest.mark.parametrize("actor", ["rep", "manager", "admin"])
def test_list_page_query_count_is_constant(
    request: pytest.FixtureRequest,
    django_assert_max_num_queries,
    actor: str,
    rows: int,
    rep: User,
    tag: Tag,
) -> None:
    for i in range(rows):
        lead = make_lead(rep, email=f"q{i}@example.com")
        services.lead_add_tags(lead=lead, actor=rep, tags=[tag])
    client = client_for(request.getfixturevalue(actor))
    with django_assert_max_num_queries(10):
        assert client.get(reverse("leads:list") + "?status=new&sort=due").status_code == 200


@pytest.mark.parametrize("notes", [1, 30])
def test_detail_page_query_count_is_constant(
    django_assert_max_num_queries, notes: int, rep: User, lead: Lead
) -> None:
    for i in range(notes):
        services.lead_add_note(lead=lead, actor=rep, kind="call", body=f"Call {i}")
    client = client_for(rep)
    with django_assert_max_num_queries(10):
        assert client.get(reverse("leads:detail", args=[lead.pk])).status_code == 200


def test_all_open_status_filter(manager: User, rep: User, reason: LostReason) -> None:
    open_lead = make_lead(rep, email="open@x.com")
    lost = make_lead(rep, email="lost@x.com")
    services.lead_change_status(lead=lost, actor=rep, status=Status.LOST, reason=reason)
    client = client_for(manager)
    assert listed(client, "?status=open") == [open_lead.number]
    assert listed(client, "?status=lost") == [lost.number]
    assert set(listed(client, "?status=lost&status=new")) == {open_lead.number, lost.number}


def test_a_broad_search_defers_its_count(manager: User, rep: User, rep_b: User) -> None:
    from leads import views

    for i in range(4):
        make_lead(rep, company="Broadmatch Ltd", email=f"b{i}@x.com")
    per_page, views.PER_PAGE = views.PER_PAGE, 3
    try:
        html = client_for(manager).get(reverse("leads:list") + "?q=broadmatch").content.decode()
    finally:
        views.PER_PAGE = per_page
    assert "3+ leads, newest first" in html
    assert 'hx-get="/leads/count/?q=broadmatch"' in html
    count = client_for(manager).get(reverse("leads:count") + "?q=broadmatch").content.decode()
    assert count.strip() == "<span data-announce>4 leads</span>"  # read out (a11y.js)
    scoped = client_for(rep_b).get(reverse("leads:count") + "?q=broadmatch").content.decode()
    # The count is scoped like the list.
    assert scoped.strip() == "<span data-announce>0 leads</span>"


@pytest.mark.parametrize("query", ["q=nobody-by-this-name&status=", "q=nobody-by-this-name"])
def test_a_search_that_finds_nothing_says_so_whatever_empty_filters_it_sends(
    rep: User, lead: Lead, query: str
) -> None:
    """The list's htmx form sends every field, the empty status select too."""
    page = client_for(rep).get(f"/leads/?{query}").content.decode()
    assert "No lead matches these filters." in page
    assert "No leads yet" not in page
