"""The "Send email" pages of leads and deals, and the personal templates pages: who sees
what (404 for the rest), the template picker with and without htmx, send and failure."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail
from django.test import Client, override_settings
from django.urls import reverse

from accounts.models import Team, User
from accounts.roles import sync_role_groups
from crm.followups.emails import services as emails
from crm.followups.emails.views import PLACEHOLDERS_LEFT, TEMPLATE_DELETED, TEMPLATE_SAVED
from crm.followups.models import EmailTemplate
from deals.models import Deal, DealNote
from leads import services
from leads.models import Lead, LeadNote
from tests.deals.helpers import make_deal
from tests.factories import PASSWORD, make_lead
from tests.followups.test_emails import FAILING

pytestmark = pytest.mark.django_db

# Screenshots for people to look at (not asserted on).
COMPOSE_SHOT = "/tmp/lead_email_compose.png"  # noqa: S108
BROWSER_SHOT = "/tmp/lead_email.png"  # noqa: S108


@pytest.fixture
def lead(rep: User) -> Lead:
    return make_lead(rep, first_name="Rita", last_name="Lopez", email="rita@acme.com")


@pytest.fixture
def first_reply(db: None) -> EmailTemplate:
    return EmailTemplate.objects.create(
        name="First reply",
        subject="Hello {{ lead.first_name }}",
        body="Hi {{ lead.first_name }},\n\n{{ sender.email }}",
    )


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def email_url(lead: Lead) -> str:
    return reverse("leads:email", args=[lead.pk])


def page(response: Any) -> str:
    return str(response.content.decode())


def field_value(html: str, name: str) -> str:
    textarea = re.search(rf'<textarea name="{name}"[^>]*>(.*?)</textarea>', html, re.S)
    if textarea:
        return textarea.group(1).strip("\n")
    found = re.search(rf'<input type="[a-z]+" name="{name}"[^>]*value="([^"]*)"', html)
    return found.group(1) if found else ""


# --- Scoping ----------------------------------------------------------------------------------

ACTORS = {"rep": 200, "rep_b": 404, "manager": 200, "other_manager": 404, "admin": 200}


@pytest.mark.parametrize("actor", ACTORS)
def test_the_lead_email_page_is_404_for_those_who_cannot_see_the_lead(
    request: pytest.FixtureRequest, actor: str, lead: Lead
) -> None:
    client = client_for(request.getfixturevalue(actor))
    assert client.get(email_url(lead)).status_code == ACTORS[actor]
    response = client.post(email_url(lead), {"to": "x@example.com", "subject": "S", "body": "B"})
    assert response.status_code == (302 if ACTORS[actor] == 200 else 404)
    assert len(mail.outbox) == (1 if ACTORS[actor] == 200 else 0)


@pytest.mark.parametrize("actor", ACTORS)
def test_the_deal_email_page_is_404_for_those_who_cannot_see_the_deal(
    request: pytest.FixtureRequest, actor: str, rep: User
) -> None:
    deal = make_deal(rep, email="buyer@example.com")
    client = client_for(request.getfixturevalue(actor))
    url = reverse("deals:email", args=[deal.pk])
    assert client.get(url).status_code == ACTORS[actor]
    response = client.post(url, {"to": "x@example.com", "subject": "S", "body": "B"})
    assert response.status_code == (302 if ACTORS[actor] == 200 else 404)
    assert DealNote.objects.filter(deal=deal, kind="email").exists() is (ACTORS[actor] == 200)


def test_anonymous_users_are_sent_to_sign_in(lead: Lead) -> None:
    response = Client().get(email_url(lead))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_rep_is_sent_back_from_a_pool_lead_and_a_converted_one(rep: User, manager: User) -> None:
    pooled = make_lead(manager, email="pool@example.com")
    response = client_for(rep).get(email_url(pooled), follow=True)
    assert response.redirect_chain[-1][0] == pooled.get_absolute_url()
    assert services.CLAIM_FIRST in page(response)
    converted = make_deal(rep, email="conv@example.com").source_lead
    assert converted is not None
    response = client_for(rep).get(email_url(converted), follow=True)
    assert services.CONVERTED_IS_READ_ONLY in page(response)
    response = client_for(rep).post(
        email_url(converted), {"to": "a@b.com", "subject": "S", "body": "B"}, follow=True
    )
    assert services.CONVERTED_IS_READ_ONLY in page(response)
    assert mail.outbox == []


def test_htmx_requests_refused_get_a_client_redirect(rep: User, manager: User) -> None:
    pooled = make_lead(manager, email="pool@example.com")
    response = client_for(rep).get(email_url(pooled), headers={"HX-Request": "true"})
    assert response["HX-Redirect"] == pooled.get_absolute_url()


def test_the_detail_pages_link_to_the_email_page_for_those_who_work_the_record(
    rep: User, manager: User, lead: Lead
) -> None:
    assert email_url(lead) in page(client_for(rep).get(lead.get_absolute_url()))
    pooled = make_lead(manager, email="pool@example.com")
    assert email_url(pooled) not in page(client_for(rep).get(pooled.get_absolute_url()))
    deal = make_deal(rep, email="buyer@example.com")
    deal_page = page(client_for(rep).get(deal.get_absolute_url()))
    assert reverse("deals:email", args=[deal.pk]) in deal_page


# --- Composing --------------------------------------------------------------------------------


def test_the_page_starts_addressed_to_the_lead(rep: User, lead: Lead) -> None:
    EmailTemplate.objects.get_or_create(
        name="First reply to a new inquiry", team=None, owner=None, defaults={"subject": "S"}
    )
    html = page(client_for(rep).get(email_url(lead)))
    assert field_value(html, "to") == "rita@acme.com"
    assert field_value(html, "subject") == ""
    assert "First reply to a new inquiry" in html  # the shipped defaults are offered


def test_picking_a_template_fills_in_the_text_without_javascript(
    rep: User, lead: Lead, first_reply: EmailTemplate
) -> None:
    response = client_for(rep).get(email_url(lead), {"template": first_reply.pk})
    html = page(response)
    assert field_value(html, "subject") == "Hello Rita"
    assert field_value(html, "body") == "Hi Rita,\n\nrep.a@example.com"
    assert f'<option value="{first_reply.pk}" selected>First reply</option>' in html
    assert "<html" in html


def test_picking_a_template_with_htmx_returns_only_the_fields(
    rep: User, lead: Lead, first_reply: EmailTemplate
) -> None:
    response = client_for(rep).get(
        email_url(lead),
        {"template": first_reply.pk, "to": "other@acme.com"},
        headers={"HX-Request": "true"},
    )
    html = page(response)
    assert "<html" not in html
    assert html.lstrip().startswith('<div id="compose-fields">')
    assert field_value(html, "to") == "other@acme.com"  # what the user typed is kept
    assert field_value(html, "subject") == "Hello Rita"
    assert "HX-Request" in response["Vary"]


def test_unknown_placeholders_are_shown_as_warnings(rep: User, lead: Lead) -> None:
    odd = EmailTemplate.objects.create(
        name="Odd", subject="Hi", body="Dear {{ lead.foo }}, <b>{{ lead.first_name }}</b>"
    )
    html = page(client_for(rep).get(email_url(lead), {"template": odd.pk}))
    assert "Unknown placeholder {{ lead.foo }}" in html
    # Escaped on the page, literal in the message.
    assert field_value(html, "body") == "Dear {{ lead.foo }}, &lt;b&gt;Rita&lt;/b&gt;"


@pytest.mark.parametrize("value", ["abc", "999999", "1.5", "'; drop table"])
def test_an_unusable_template_id_is_a_form_error(rep: User, lead: Lead, value: str) -> None:
    response = client_for(rep).get(email_url(lead), {"template": value})
    assert response.status_code == 200
    assert emails.TEMPLATE_NOT_AVAILABLE in page(response)


def test_someone_elses_or_another_teams_template_is_not_available(
    rep: User, rep_b: User, lead: Lead, other_team: Team
) -> None:
    theirs = EmailTemplate.objects.create(name="B's", subject="S", body="B", owner=rep_b)
    south = EmailTemplate.objects.create(name="South", subject="S", body="B", team=other_team)
    for other in (theirs, south):
        response = client_for(rep).get(email_url(lead), {"template": other.pk})
        html = page(response)
        assert emails.TEMPLATE_NOT_AVAILABLE in html
        assert field_value(html, "body") == ""
        assert other.name not in html


# --- Sending ----------------------------------------------------------------------------------


def test_sending_mails_logs_and_goes_back_to_the_lead(rep: User, lead: Lead) -> None:
    response = client_for(rep).post(
        email_url(lead),
        {"to": "rita@acme.com", "subject": "Hello Rita", "body": "Hi Rita,\n\nSam"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == lead.get_absolute_url()
    html = page(response)
    assert emails.EMAIL_SENT.format(to="rita@acme.com") in html
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject == "Hello Rita"
    assert mail.outbox[0].reply_to == ["rep.a@example.com"]
    note = LeadNote.objects.get(lead=lead)
    assert note.kind == LeadNote.Kind.EMAIL
    lead.refresh_from_db()
    assert lead.status == Lead.Status.CONTACTED
    assert lead.first_response_time is not None
    assert "Subject: Hello Rita" in html  # on the timeline


def test_a_send_failure_keeps_the_text_and_logs_nothing(rep: User, lead: Lead) -> None:
    body = "Hi Rita,\n\nLine two & <more>"
    with override_settings(EMAIL_BACKEND=FAILING):
        response = client_for(rep).post(
            email_url(lead), {"to": "rita@acme.com", "subject": "Hello", "body": body}
        )
    assert response.status_code == 200
    html = page(response)
    assert "The email could not be sent: " in html
    assert "Nothing was logged; try again." in html
    assert field_value(html, "subject") == "Hello"
    assert field_value(html, "body") == "Hi Rita,\n\nLine two &amp; &lt;more&gt;"
    assert not LeadNote.objects.filter(lead=lead).exists()
    lead.refresh_from_db()
    assert lead.status == Lead.Status.NEW


def test_a_bad_address_is_refused_with_the_text_kept(rep: User, lead: Lead) -> None:
    response = client_for(rep).post(
        email_url(lead), {"to": "rita at acme", "subject": "Hello", "body": "Text"}
    )
    html = page(response)
    assert emails.EMAIL_BAD_RECIPIENT.format(to="rita at acme").replace("“", "") in html.replace(
        "“", ""
    )
    assert field_value(html, "body") == "Text"
    assert mail.outbox == []


def test_missing_fields_are_errors_in_place(rep: User, lead: Lead) -> None:
    response = client_for(rep).post(email_url(lead), {"to": "rita@acme.com", "body": "Text"})
    assert response.status_code == 200
    assert "This field is required." in page(response)
    assert mail.outbox == []


def test_placeholders_left_in_the_text_ask_before_sending(rep: User, lead: Lead) -> None:
    data = {"to": "rita@acme.com", "subject": "Hi", "body": "Dear {{ lead.foo }}"}
    client = client_for(rep)
    html = page(client.post(email_url(lead), data))
    assert PLACEHOLDERS_LEFT.format(placeholders="{{ lead.foo }}") in html
    assert 'name="send_anyway"' in html
    assert mail.outbox == []
    response = client.post(email_url(lead), {**data, "send_anyway": "1"})
    assert response.status_code == 302
    assert mail.outbox[0].body == "Dear {{ lead.foo }}"


def test_sending_from_a_deal_page(rep: User) -> None:
    deal = make_deal(rep, email="buyer@example.com")
    url = reverse("deals:email", args=[deal.pk])
    html = page(client_for(rep).get(url))
    assert field_value(html, "to") == "buyer@example.com"
    response = client_for(rep).post(
        url, {"to": "buyer@example.com", "subject": "Proposal", "body": "Attached."}, follow=True
    )
    assert response.redirect_chain[-1][0] == deal.get_absolute_url()
    assert DealNote.objects.get(deal=deal).kind == "email"
    with override_settings(EMAIL_BACKEND=FAILING):
        response = client_for(rep).post(url, {"to": "b@example.com", "subject": "S", "body": "B"})
    assert "The email could not be sent: " in page(response)
    assert DealNote.objects.filter(deal=deal).count() == 1


def test_posts_need_a_csrf_token(rep: User, lead: Lead) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(rep)
    data = {"to": "rita@acme.com", "subject": "S", "body": "B"}
    assert client.post(email_url(lead), data).status_code == 403
    assert client.post(reverse("leads:email_template_create"), data).status_code == 403
    assert mail.outbox == []
    assert 'name="csrfmiddlewaretoken"' in page(client.get(email_url(lead)))


@pytest.mark.parametrize("templates", [1, 15])
def test_the_email_page_query_count_does_not_grow_with_templates(
    django_assert_max_num_queries: Any, templates: int, rep: User, lead: Lead, team: Team
) -> None:
    for i in range(templates):
        EmailTemplate.objects.create(name=f"Team {i}", subject="S", body="B", team=team)
        EmailTemplate.objects.create(name=f"Own {i}", subject="S", body="B", owner=rep)
    client = client_for(rep)
    chosen = EmailTemplate.objects.filter(owner=rep).first()
    assert chosen is not None
    with django_assert_max_num_queries(8):
        assert client.get(email_url(lead), {"template": chosen.pk}).status_code == 200


def test_the_deal_email_page_query_count(django_assert_max_num_queries: Any, rep: User) -> None:
    deal: Deal = make_deal(rep, email="buyer@example.com")
    client = client_for(rep)
    with django_assert_max_num_queries(8):
        assert client.get(reverse("deals:email", args=[deal.pk])).status_code == 200


# --- Personal templates -----------------------------------------------------------------------


def test_personal_templates_crud(rep: User) -> None:
    client = client_for(rep)
    assert "no templates of your own yet" in page(client.get(reverse("leads:email_templates")))
    response = client.post(
        reverse("leads:email_template_create"),
        {"name": "Nudge", "subject": "Still there, {{ lead.first_name }}?", "body": "Ping"},
        follow=True,
    )
    assert TEMPLATE_SAVED.format(name="Nudge") in page(response)
    mine = EmailTemplate.objects.get(owner=rep)
    assert (mine.name, mine.team) == ("Nudge", None)
    edit = reverse("leads:email_template_edit", args=[mine.pk])
    assert "Still there" in page(client.get(edit))
    client.post(edit, {"name": "Nudge 2", "subject": "S", "body": "B"})
    mine.refresh_from_db()
    assert mine.name == "Nudge 2"
    delete = reverse("leads:email_template_delete", args=[mine.pk])
    assert "Delete “Nudge 2”?" in page(client.get(delete))
    assert EmailTemplate.objects.filter(pk=mine.pk).exists()
    response = client.post(delete, follow=True)
    assert TEMPLATE_DELETED.format(name="Nudge 2") in page(response)
    assert not EmailTemplate.objects.filter(pk=mine.pk).exists()


def test_a_template_with_unknown_placeholders_is_not_saved(rep: User) -> None:
    response = client_for(rep).post(
        reverse("leads:email_template_create"),
        {"name": "Bad", "subject": "S", "body": "Hi {{ lead.nickname }}"},
    )
    assert response.status_code == 200
    assert "Unknown placeholder {{ lead.nickname }}" in page(response)
    assert not EmailTemplate.objects.filter(owner=rep).exists()


def test_others_templates_are_404_on_the_personal_pages(rep: User, rep_b: User, team: Team) -> None:
    theirs = EmailTemplate.objects.create(name="B's", subject="S", body="B", owner=rep_b)
    teams = EmailTemplate.objects.create(name="Team", subject="S", body="B", team=team)
    shared = EmailTemplate.objects.create(name="All", subject="S", body="B")
    client = client_for(rep)
    for other in (theirs, teams, shared):
        for name in ("leads:email_template_edit", "leads:email_template_delete"):
            url = reverse(name, args=[other.pk])
            assert client.get(url).status_code == 404
            assert client.post(url, {"name": "X", "subject": "X", "body": "X"}).status_code == 404
    assert EmailTemplate.objects.filter(pk__in=[theirs.pk, teams.pk, shared.pk]).count() == 3
    html = page(client.get(reverse("leads:email_templates")))
    assert "B&#x27;s" not in html
    # The shared ones are listed, read-only.
    assert "Team" in html
    assert "All" in html


# --- In a real browser ------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_rep_emails_a_lead_from_a_template_in_the_browser(
    live_server: Any, page: Any, rep: User
) -> None:
    from playwright.sync_api import expect

    lead = make_lead(rep, first_name="Rita", last_name="Lopez", email="rita@acme.com")
    chosen = EmailTemplate.objects.create(
        name="Warm hello", subject="Hello {{ lead.first_name }}", body="Hi {{ lead.full_name }}"
    )
    page.goto(f"{live_server.url}{lead.get_absolute_url()}")
    page.get_by_label("Email address").fill(rep.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Send email").click()
    page.wait_for_url(f"{live_server.url}{email_url(lead)}")
    expect(page.locator("#id_to")).to_have_value("rita@acme.com")
    page.locator("#id_to").fill("rita.lopez@acme.com")
    # Choosing a template fills in the text in place (htmx) and keeps the typed address.
    page.get_by_label("Template", exact=True).select_option(str(chosen.pk))
    expect(page.locator("#id_subject")).to_have_value("Hello Rita")
    expect(page.locator("#id_body")).to_have_value("Hi Rita Lopez")
    expect(page.locator("#id_to")).to_have_value("rita.lopez@acme.com")
    assert page.url == f"{live_server.url}{email_url(lead)}"
    page.locator("#id_body").fill("Hi Rita Lopez,\n\nGreat to hear from you.")
    page.screenshot(path=COMPOSE_SHOT, full_page=True)
    page.get_by_role("button", name="Send email").click()
    page.wait_for_url(f"{live_server.url}{lead.get_absolute_url()}")
    expect(page.get_by_text(emails.EMAIL_SENT.format(to="rita.lopez@acme.com"))).to_be_visible()
    expect(page.locator("#lead-status")).to_have_text("Contacted")
    assert mail.outbox[0].to == ["rita.lopez@acme.com"]
    assert mail.outbox[0].body == "Hi Rita Lopez,\n\nGreat to hear from you."
    page.screenshot(path=BROWSER_SHOT, full_page=True)


# --- The admin (team templates and everyone's) ------------------------------------------------


def test_admins_keep_team_templates_in_the_admin(admin: User, team: Team) -> None:
    # On a fresh test database the role groups were synced before the leads app's
    # permissions existed (accounts migrates first); sync them as a later migrate would.
    sync_role_groups()
    client = client_for(admin)
    changelist = reverse("admin:followups_emailtemplate_changelist")
    assert client.get(changelist, {"team__id__exact": team.pk}).status_code == 200
    add = reverse("admin:followups_emailtemplate_add")
    data = {"name": "North hello", "subject": "Hi", "body": "{{ lead.nope }}", "team": team.pk}
    response = client.post(add, {**data, "is_active": "on"})
    assert response.status_code == 200
    assert "Unknown placeholder {{ lead.nope }}" in page(response)
    data["body"] = "Hi {{ lead.first_name }}"
    assert client.post(add, {**data, "is_active": "on"}).status_code == 302
    assert EmailTemplate.objects.get(name="North hello").team == team
    both = {**data, "name": "Both", "owner": admin.pk}
    assert "A template is a team&#x27;s or a person&#x27;s, not both." in page(
        client.post(add, both)
    )
