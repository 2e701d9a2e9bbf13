"""Web-to-lead forms: the hosted page, what a submission becomes (a routed lead with its
source, tags, UTM, pages and consent; or an activity on a known lead or deal), the
protections (token, fill time, replay, honeypot, rate limits, body size) with their
counted refusals, the redirect only to listed hosts, and the acknowledgement sent once."""

from __future__ import annotations

import re
import time
from decimal import Decimal
from html import unescape
from typing import Any

import pytest
from django.core import mail
from django.test import Client

from accounts.models import Team, User
from crm.models import AuditEvent, Notification
from crm.notifications import dispatch_emails, send_emails
from leads.models import AssignmentRule, Lead, LeadNote, Source, Tag
from leads.webforms import protection
from leads.webforms.forms import REACH_ME
from leads.webforms.models import WebForm, WebFormRefusal
from leads.webforms.views import SEND_AGAIN, TRY_LATER
from tests.deals.helpers import make_deal
from tests.factories import make_lead

pytestmark = pytest.mark.django_db

CONSENT = "Yes, send me news about your products now and then. I can unsubscribe at any time."


@pytest.fixture
def web_form(team: Team, tag: Tag) -> WebForm:
    form = WebForm.objects.create(
        name="Contact us",
        slug="contact",
        team=team,
        fields=["first_name", "last_name", "email", "phone", "company", "country", "message"],
        required=["first_name", "email"],
        consent_text=CONSENT,
        acknowledge=True,
        allowed_hosts="www.example.com\nshop.example.com",
    )
    form.tags.set([tag])
    return form


_counter = iter(range(1, 10_000))


def visitor(address: str = "") -> Client:
    return Client(REMOTE_ADDR=address or f"10.9.{next(_counter) // 250}.{next(_counter) % 250}")


def token_of(html: str) -> str:
    found = re.search(r'name="token" value="([^"]+)"', html)
    assert found, "no token on the page"
    return found.group(1)


HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


def submit(client: Client, form: WebForm, data: dict[str, Any], query: str = "") -> Any:
    """What a browser does: open the page, fill it in, send it with its hidden fields."""
    page = client.get(form.get_absolute_url() + query, HTTP_REFERER="https://news.example/post")
    assert page.status_code == 200
    hidden = {name: unescape(value) for name, value in HIDDEN.findall(page.content.decode())}
    return client.post(form.get_absolute_url() + query, {**hidden, **data})


PERSON = {"first_name": "Vera", "last_name": "Visitor", "email": "Vera@Example.org"}


def test_the_hosted_page_is_standalone_and_asks_what_the_admin_chose(web_form: WebForm) -> None:
    html = visitor().get("/f/contact/").content.decode()
    assert "<h1" in html
    assert "Contact us" in html
    assert "navbar" not in html  # no CRM navigation
    for name in web_form.fields:
        assert f'name="{name}"' in html
    assert 'name="job_title"' not in html
    assert CONSENT in html
    assert 'name="nickname"' in html
    assert 'tabindex="-1"' in html
    assert 'name="email" ' in html
    assert "required" in html


def test_a_submission_becomes_a_routed_lead_with_all_it_brought(
    web_form: WebForm, rep: User, tag: Tag
) -> None:
    AssignmentRule.objects.create(name="Web form leads", user=rep, web_form_ids=[web_form.pk])
    query = "?utm_source=newsletter&utm_medium=email&utm_campaign=winter&utm_term=crm&utm_content=a"
    response = submit(
        visitor(),
        web_form,
        {**PERSON, "company": "Acme", "country": "DE", "message": "Call me", "consent": "on"},
        query,
    )
    assert response.status_code == 200
    assert web_form.success_message in response.content.decode()
    lead = Lead.objects.get()
    assert (lead.first_name, lead.email, lead.company, str(lead.country)) == (
        "Vera",
        "vera@example.org",
        "Acme",
        "DE",
    )
    assert lead.source == Source.objects.get(name="Web form")
    assert (lead.owner, lead.team) == (rep, rep.memberships.get().team)
    assert list(lead.tags.all()) == [tag]
    assert (lead.utm_source, lead.utm_medium, lead.utm_campaign) == (
        "newsletter",
        "email",
        "winter",
    )
    assert (lead.utm_term, lead.utm_content) == ("crm", "a")
    assert lead.referrer == "https://news.example/post"
    assert lead.landing_page.endswith("/f/contact/" + query)
    assert lead.marketing_consent
    assert lead.consent_at is not None
    assert (lead.consent_source, lead.consent_text) == ("Web form “Contact us”", CONSENT)
    assert lead.sla_due_at is not None  # its response-time deadline, like any new lead
    note = LeadNote.objects.get(lead=lead)
    assert (note.kind, note.body) == ("web_form", "Call me\n\n— via Web form “Contact us”")
    created = AuditEvent.objects.get(target_id=lead.pk, action=AuditEvent.Action.CREATED)
    assert created.note == f"Rule “Web form leads” → {rep}"
    assert Notification.objects.get(user=rep).kind == Notification.Kind.LEAD_RECEIVED
    web_form.refresh_from_db()
    assert web_form.submissions == 1


def test_without_consent_nothing_is_stored_about_consent(web_form: WebForm) -> None:
    submit(visitor(), web_form, PERSON)
    lead = Lead.objects.get()
    assert not lead.marketing_consent
    assert (lead.consent_at, lead.consent_text) == (None, "")


def test_required_consent_must_be_ticked(web_form: WebForm) -> None:
    web_form.consent_required = True
    web_form.save()
    response = submit(visitor(), web_form, PERSON)
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert not Lead.objects.exists()


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"first_name": "", "email": "v@example.org"}, "This field is required."),
        ({"first_name": "Vera", "email": "not-an-email"}, "Enter a valid email address."),
        ({"first_name": "Vera", "email": "v@example.org", "phone": "call me"}, "Enter a phone"),
        ({"first_name": "Vera", "email": "v@example.org", "country": "XX"}, "valid choice"),
        ({"first_name": "Vera", "email": "v@example.org", "message": "x" * 5001}, "5000"),
    ],
)
def test_each_field_rule_is_an_error_in_place_and_keeps_the_input(
    web_form: WebForm, data: dict[str, str], error: str
) -> None:
    response = submit(visitor(), web_form, {**data, "company": "Kept Ltd"})
    html = response.content.decode()
    assert response.status_code == 400
    assert error in html
    assert 'value="Kept Ltd"' in html
    assert 'aria-invalid="true"' in html
    assert token_of(html)  # a fresh token to send it again with
    assert not Lead.objects.exists()
    assert WebFormRefusal.objects.get(form=web_form).reason == "invalid"


def test_an_email_or_a_phone_is_needed(web_form: WebForm) -> None:
    web_form.required = ["first_name"]
    web_form.save()
    response = submit(visitor(), web_form, {"first_name": "Vera"})
    assert REACH_ME in response.content.decode()
    assert (
        submit(visitor(), web_form, {"first_name": "Vera", "phone": "+49 30 1234567"}).status_code
        == 200
    )
    assert Lead.objects.get().phone_normalized == "+49301234567"


def test_the_honeypot_refuses_and_counts(web_form: WebForm) -> None:
    response = submit(visitor(), web_form, {**PERSON, "nickname": "bot"})
    assert response.status_code == 400
    assert TRY_LATER in response.content.decode()
    assert not Lead.objects.exists()
    assert WebFormRefusal.objects.get(form=web_form, reason="honeypot").count == 1


def test_too_fast_is_the_form_again_with_the_input(web_form: WebForm, settings: Any) -> None:
    settings.WEBFORM_MIN_FILL_SECONDS = 3
    client = visitor()
    token = token_of(client.get("/f/contact/").content.decode())
    response = client.post("/f/contact/", {**PERSON, "token": token})
    html = response.content.decode()
    assert response.status_code == 400
    assert SEND_AGAIN in html
    assert 'value="Vera"' in html
    assert not Lead.objects.exists()
    # Sent again a person's moment later, with the fresh token, it goes through.
    fresh = token_of(html)
    shown = protection.issue_token(web_form, at=time.time() - 5)
    assert client.post("/f/contact/", {**PERSON, "token": shown}).status_code == 200
    assert fresh != token
    assert WebFormRefusal.objects.get(form=web_form, reason="too_fast").count == 1


def test_a_token_is_used_once_and_lasts_a_day(web_form: WebForm) -> None:
    client = visitor()
    token = token_of(client.get("/f/contact/").content.decode())
    assert client.post("/f/contact/", {**PERSON, "token": token}).status_code == 200
    again = client.post("/f/contact/", {**PERSON, "email": "second@example.org", "token": token})
    assert again.status_code == 400
    old = protection.issue_token(web_form, at=time.time() - 25 * 3600)
    stale = client.post("/f/contact/", {**PERSON, "email": "third@example.org", "token": old})
    assert stale.status_code == 400
    other = WebForm.objects.create(name="Other", slug="other")
    forged = protection.issue_token(other)
    wrong = client.post("/f/contact/", {**PERSON, "email": "fourth@example.org", "token": forged})
    assert wrong.status_code == 400
    assert client.post("/f/contact/", {**PERSON, "token": "garbage"}).status_code == 400
    assert Lead.objects.count() == 1
    counts = dict(WebFormRefusal.objects.filter(form=web_form).values_list("reason", "count"))
    assert counts == {"replayed": 1, "stale": 1, "bad_token": 2}


def test_the_rate_limit_per_address_and_per_form(web_form: WebForm, settings: Any) -> None:
    settings.WEBFORM_RATE_PER_ADDRESS = (3, 600)
    settings.WEBFORM_RATE_PER_FORM = (5, 600)
    one = visitor("10.1.1.1")
    sent = [
        submit(one, web_form, {**PERSON, "email": f"a{i}@example.org"}).status_code
        for i in range(5)
    ]
    assert sent == [200, 200, 200, 429, 429]
    others = [
        submit(
            visitor(f"10.2.2.{i}"), web_form, {**PERSON, "email": f"b{i}@example.org"}
        ).status_code
        for i in range(3)
    ]
    assert others == [200, 200, 429]  # the form takes five in the window, from everyone
    assert Lead.objects.count() == 5
    counts = dict(WebFormRefusal.objects.filter(form=web_form).values_list("reason", "count"))
    assert counts == {"rate_limited": 2, "form_busy": 1}


def test_the_client_address_is_read_through_the_proxies(settings: Any) -> None:
    from django.test import RequestFactory

    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 1.2.3.4"
    )
    assert protection.client_address(request) == "10.0.0.1"  # no proxies: the header is a claim
    settings.PROXY_COUNT = 1
    assert protection.client_address(request) == "1.2.3.4"
    settings.PROXY_COUNT = 2
    assert protection.client_address(request) == "6.6.6.6"
    settings.PROXY_COUNT = 3
    assert protection.client_address(request) == "10.0.0.1"


def test_a_body_too_large_is_refused(web_form: WebForm) -> None:
    response = submit(visitor(), web_form, {**PERSON, "message": "x" * 70_000})
    assert response.status_code == 413
    assert not Lead.objects.exists()
    assert WebFormRefusal.objects.get(form=web_form).reason == "too_large"


def test_a_known_person_becomes_an_activity_on_their_lead(web_form: WebForm, rep: User) -> None:
    known = make_lead(rep, first_name="Vera", email="vera@example.org")
    response = submit(visitor(), web_form, {**PERSON, "message": "Any news?"})
    assert response.status_code == 200
    assert Lead.objects.count() == 1
    note = LeadNote.objects.get(lead=known)
    assert (note.kind, note.author) == ("web_form", None)
    assert note.body.startswith("Any news?")
    known.refresh_from_db()
    assert known.status == "new"
    assert known.first_contacted_at is None
    told = Notification.objects.get(user=rep)
    assert told.kind == Notification.Kind.INQUIRY


def test_the_same_phone_is_the_same_person(web_form: WebForm, rep: User) -> None:
    known = make_lead(rep, email="", phone="+49 30 1234567", country="DE")
    submit(
        visitor(),
        web_form,
        {"first_name": "Vera", "email": "new@example.org", "phone": "030 1234567", "country": "DE"},
    )
    assert LeadNote.objects.filter(lead=known, kind="web_form").exists()
    assert Lead.objects.count() == 1


def test_a_known_contact_with_an_open_deal_gets_it_on_the_deal(
    web_form: WebForm, rep: User
) -> None:
    deal = make_deal(rep, company="Acme", email="dana@acme.example")
    assert deal.contact is not None
    assert deal.contact.email == "dana@acme.example"
    submit(
        visitor(),
        web_form,
        {"first_name": "Dana", "email": "dana@acme.example", "message": "Quote?"},
    )
    note = deal.notes.get(kind="web_form")
    assert note.body.startswith("Quote?")
    assert Lead.objects.count() == 1  # only the converted one
    assert Notification.objects.filter(user=rep, kind=Notification.Kind.INQUIRY).exists()


def test_the_redirect_goes_only_to_a_listed_host(web_form: WebForm) -> None:
    web_form.redirect_url = "https://www.example.com/thanks"
    web_form.full_clean()
    web_form.save()
    response = submit(visitor(), web_form, PERSON)
    assert (response.status_code, response["Location"]) == (302, "https://www.example.com/thanks")
    web_form.redirect_url = "https://evil.example/"
    with pytest.raises(Exception, match="allowed hosts"):
        web_form.full_clean()
    # Stored anyway (by hand, past the form's check): not followed.
    WebForm.objects.filter(pk=web_form.pk).update(redirect_url="https://evil.example/")
    web_form.refresh_from_db()
    response = submit(visitor(), web_form, {**PERSON, "email": "again@example.org"})
    assert response.status_code == 200


def test_the_acknowledgement_is_sent_once_after_the_commit(
    web_form: WebForm, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        submit(visitor(), web_form, {**PERSON, "company": "Acme & Co"})
    ack = Notification.objects.get(kind=Notification.Kind.ACKNOWLEDGEMENT)
    assert (ack.user, ack.email_to, ack.email_state) == (None, "vera@example.org", "pending")
    assert ack.email_subject == "Thanks for getting in touch, Vera"
    ids = dispatch_emails()
    assert ids == [ack.pk]
    assert send_emails(ids) == 1
    assert send_emails(ids) == 0  # once
    (sent,) = mail.outbox
    assert sent.to == ["vera@example.org"]
    assert "Hello Vera," in sent.body
    assert "Contact us" in sent.body
    assert "&amp;" not in sent.body


def test_embedding_is_allowed_only_to_the_listed_hosts(web_form: WebForm) -> None:
    response = visitor().get("/f/contact/?embed=1")
    policy = response["Content-Security-Policy"]
    assert "frame-ancestors 'self' https://shop.example.com https://www.example.com" in policy
    assert "X-Frame-Options" not in response
    WebForm.objects.create(name="Bare", slug="bare")
    assert "frame-ancestors 'none'" in visitor().get("/f/bare/")["Content-Security-Policy"]


def test_an_inactive_or_unknown_form_is_a_404(web_form: WebForm) -> None:
    web_form.is_active = False
    web_form.save()
    assert visitor().get("/f/contact/").status_code == 404
    assert visitor().post("/f/contact/", PERSON).status_code == 404
    assert visitor().get("/f/nope/").status_code == 404


def test_the_admin_shows_the_embed_code_and_the_refusals(web_form: WebForm, admin: User) -> None:
    submit(visitor(), web_form, {**PERSON, "nickname": "bot"})
    client = Client()
    client.force_login(admin)
    html = client.get(f"/admin/webforms/webform/{web_form.pk}/change/").content.decode()
    assert "&lt;iframe src=" in html
    assert "/f/contact/?embed=1" in html
    assert "&lt;form method=&quot;post&quot;" in html
    assert "Honeypot filled in" in html
    listing = client.get("/admin/webforms/webform/").content.decode()
    assert "Contact us" in listing


def test_the_snippet_posts_and_creates_a_lead(web_form: WebForm) -> None:
    from leads.webforms.admin import snippet

    html = snippet(web_form)
    token = token_of(html)
    assert "<script" not in html
    response = visitor().post("/f/contact/", {**PERSON, "token": token, "utm_campaign": "site"})
    assert response.status_code == 200
    assert Lead.objects.get().utm_campaign == "site"


def test_an_admin_form_with_an_unknown_placeholder_is_refused(admin: User, team: Team) -> None:
    client = Client()
    client.force_login(admin)
    data = {
        "name": "Demo",
        "slug": "demo",
        "is_active": "on",
        "fields": ["first_name", "email"],
        "required": ["email"],
        "success_message": "Thanks",
        "ack_subject": "Hi {{ lead.first_name }}",
        "ack_body": "Dear {{ lead.owner.password }}",
        "refusals-TOTAL_FORMS": "0",
        "refusals-INITIAL_FORMS": "0",
    }
    response = client.post("/admin/webforms/webform/add/", data)
    assert response.status_code == 200
    assert "Unknown placeholder {{ lead.owner.password }}" in response.content.decode()
    data["ack_body"] = "Dear {{ lead.first_name }}"
    assert client.post("/admin/webforms/webform/add/", data).status_code == 302
    assert WebForm.objects.get(slug="demo").fields == ["first_name", "email"]


def test_estimated_fields_are_optional_questions(web_form: WebForm) -> None:
    web_form.fields = [*web_form.fields, "budget", "timeline"]
    web_form.save()
    submit(visitor(), web_form, {**PERSON, "budget": "5000", "timeline": "now"})
    assert Lead.objects.get().budget == Decimal("5000")


def test_the_lead_page_shows_where_it_came_from_and_the_consent_wording(
    web_form: WebForm, rep: User
) -> None:
    AssignmentRule.objects.create(name="To the rep", user=rep)
    submit(visitor(), web_form, {**PERSON, "consent": "on"}, "?utm_source=ad&utm_term=crm")
    lead = Lead.objects.get()
    client = Client()
    client.force_login(rep)
    html = client.get(lead.get_absolute_url()).content.decode()
    assert "https://news.example/post" in html
    assert "/f/contact/?utm_source=ad" in html
    assert CONSENT in html
    assert "(crm)" in html


def test_a_known_person_who_consents_now_has_it_on_their_lead(web_form: WebForm, rep: User) -> None:
    known = make_lead(rep, first_name="Vera", email="vera@example.org")
    version = known.version
    submit(visitor(), web_form, {**PERSON, "message": "Sign me up", "consent": "on"})
    known.refresh_from_db()
    assert known.marketing_consent
    assert (known.consent_source, known.consent_text) == ("Web form “Contact us”", CONSENT)
    assert known.consent_at is not None
    assert known.version == version + 1  # an edit open elsewhere is refused, not overwritten
    event = AuditEvent.objects.get(target_id=known.pk, action=AuditEvent.Action.UPDATED)
    assert event.note == "Consent given via Web form “Contact us”"
    # Without the box ticked, nothing about consent changes.
    submit(visitor(), web_form, {**PERSON, "message": "Again"})
    known.refresh_from_db()
    assert known.version == version + 1
