"""Follow-up emails: safe placeholder rendering, which templates a user may use, and the
send services (sent once, logged only if sent, refused when the user may not)."""

from __future__ import annotations

import importlib
import smtplib
from typing import Any

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.mail.backends.base import BaseEmailBackend
from django.test import override_settings

from accounts.models import Team, User
from crm.followups.emails import services as emails
from crm.followups.models import EmailTemplate
from crm.models import AuditEvent
from deals.models import Contact, DealNote
from leads import services
from leads.models import Lead, LeadNote
from tests.deals.helpers import make_deal
from tests.factories import make_lead

pytestmark = pytest.mark.django_db

Status = Lead.Status


class RefusingBackend(BaseEmailBackend):
    """The mail server at the edge: it refuses every message."""

    def send_messages(self, email_messages: Any) -> int:
        raise smtplib.SMTPRecipientsRefused({"x@example.com": (550, b"Mailbox unavailable")})


class UnreachableBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Any) -> int:
        raise ConnectionRefusedError(111, "Connection refused")


FAILING = "tests.followups.test_emails.RefusingBackend"
UNREACHABLE = "tests.followups.test_emails.UnreachableBackend"


@pytest.fixture
def sender(rep: User) -> User:
    rep.first_name, rep.last_name = "Sam", "Seller"
    rep.save(update_fields=["first_name", "last_name"])
    return rep


@pytest.fixture
def lead(sender: User) -> Lead:
    return make_lead(
        sender,
        first_name="Rita",
        last_name="Lopez",
        company="Acme",
        email="rita@acme.com",
        phone="+44 20 7946 0000",
        job_title="CTO",
    )


def template(body: str, subject: str = "Hello", **fields: Any) -> EmailTemplate:
    name = fields.pop("name", "T")
    return EmailTemplate.objects.create(name=name, subject=subject, body=body, **fields)


# --- Rendering ------------------------------------------------------------------------------


def test_every_lead_and_sender_placeholder_is_filled_in(sender: User, lead: Lead) -> None:
    values = emails.placeholder_values(sender=sender, lead=lead)
    expected = {
        "lead.first_name": "Rita",
        "lead.last_name": "Lopez",
        "lead.full_name": "Rita Lopez",
        "lead.company": "Acme",
        "lead.email": "rita@acme.com",
        "lead.phone": "+44 20 7946 0000",
        "lead.job_title": "CTO",
        "lead.number": lead.number,
        "contact.first_name": "Rita",
        "contact.last_name": "Lopez",
        "contact.full_name": "Rita Lopez",
        "contact.email": "rita@acme.com",
        "company.name": "Acme",
        "sender.first_name": "Sam",
        "sender.last_name": "Seller",
        "sender.full_name": "Sam Seller",
        "sender.email": "rep.a@example.com",
        # Not a deal: known placeholders, empty values.
        "deal.title": "",
        "deal.value": "",
        "deal.currency": "",
    }
    assert values == expected
    assert set(values) == set(emails.PLACEHOLDERS)
    for name, value in expected.items():
        assert emails.render_placeholders(f"[{{{{ {name} }}}}]", values) == f"[{value}]"
        assert emails.render_placeholders(f"[{{{{{name}}}}}]", values) == f"[{value}]"


def test_deal_placeholders_come_from_the_deal_and_its_contact(sender: User) -> None:
    deal = make_deal(sender, value="12500.5", first_name="Rita", company="Acme")
    deal.contact = Contact.objects.create(
        first_name="Carl", last_name="Contact", email="carl@acme.com", owner=sender
    )
    values = emails.placeholder_values(sender=sender, deal=deal)
    assert values["deal.title"] == deal.title
    assert values["deal.value"] == "12,500.50"
    assert values["deal.currency"] == deal.currency
    assert values["contact.full_name"] == "Carl Contact"
    assert values["lead.first_name"] == "Carl"  # one template reads right on both pages
    assert values["lead.number"] == deal.source_lead.number
    assert values["company.name"] == deal.company.name


def test_missing_values_are_empty(sender: User) -> None:
    bare = make_lead(sender, first_name="", last_name="Solo", email="solo@example.com")
    rendered = emails.render_template(
        template("Hi {{ lead.first_name }} of {{lead.company}}, {{ lead.phone }}."),
        emails.placeholder_values(sender=sender, lead=bare),
    )
    assert rendered.body == "Hi  of , ."
    assert rendered.unknown == []


def test_unknown_placeholders_stay_visible_and_are_reported(sender: User, lead: Lead) -> None:
    rendered = emails.render_template(
        template(
            "Hi {{ lead.first_name }} {{ lead.foo }} {{ lead.delete }} {{ lead.foo }}",
            subject="{{ settings.SECRET_KEY }} for {{ lead.first_name }}",
        ),
        emails.placeholder_values(sender=sender, lead=lead),
    )
    assert rendered.subject == "{{ settings.SECRET_KEY }} for Rita"
    assert rendered.body == "Hi Rita {{ lead.foo }} {{ lead.delete }} {{ lead.foo }}"
    assert rendered.warnings == [
        "Unknown placeholder {{ settings.SECRET_KEY }}",
        "Unknown placeholder {{ lead.foo }}",
        "Unknown placeholder {{ lead.delete }}",
    ]


def test_no_template_language_runs(sender: User, lead: Lead) -> None:
    text = (
        "{% load static %}{% for x in lead %}{{ x }}{% endfor %}"
        "{{ lead.delete }}{{ lead.first_name|upper }}{{ lead.__class__ }}{# hidden #}"
    )
    rendered = emails.render_template(
        template(text), emails.placeholder_values(sender=sender, lead=lead)
    )
    assert rendered.body == text  # nothing here is a whitelisted placeholder
    assert Lead.objects.filter(pk=lead.pk).exists()


def test_html_in_templates_and_values_stays_literal_text(sender: User) -> None:
    odd = make_lead(sender, first_name="<b>Bo</b>", last_name="& Co", email="bo@example.com")
    rendered = emails.render_template(
        template("<p>Hi {{ lead.full_name }}</p>"),
        emails.placeholder_values(sender=sender, lead=odd),
    )
    assert rendered.body == "<p>Hi <b>Bo</b> & Co</p>"


def test_a_value_that_looks_like_a_placeholder_is_not_filled_in_again(sender: User) -> None:
    sneaky = make_lead(sender, first_name="{{ sender.email }}", email="s@example.com")
    body = emails.render_placeholders(
        "Hi {{ lead.first_name }}", emails.placeholder_values(sender=sender, lead=sneaky)
    )
    assert body == "Hi {{ sender.email }}"


def test_the_shipped_defaults_render_cleanly(sender: User, lead: Lead) -> None:
    defaults = importlib.import_module("leads.migrations.0005_default_templates_and_sla_backfill")
    values = emails.placeholder_values(sender=sender, lead=lead)
    for name, subject, body in defaults.DEFAULTS:
        rendered = emails.render_template(template(body, subject=subject, name=name), values)
        assert rendered.unknown == []
        assert "{{" not in rendered.body
        assert rendered.body.startswith("Hi Rita,\n")
        assert rendered.body.endswith("Sam Seller\nrep.a@example.com")


# --- Which templates a user may use -----------------------------------------------------------


def test_templates_for_is_everyones_plus_my_teams_plus_my_own(
    rep: User, rep_b: User, team: Team, other_team: Team, django_assert_num_queries: Any
) -> None:
    EmailTemplate.objects.all().delete()
    everyone = template("x", name="Everyone")
    ours = template("x", name="North team", team=team)
    template("x", name="South team", team=other_team)
    mine = template("x", name="Mine", owner=rep)
    template("x", name="B's own", owner=rep_b)
    template("x", name="Retired", is_active=False)
    template("x", name="My retired", owner=rep, is_active=False)
    with django_assert_num_queries(1):
        names = [(t.name, t.team.name if t.team else None) for t in emails.templates_for(rep)]
    assert names == [("Everyone", None), ("Mine", None), ("North team", "North")]
    assert {t.pk for t in emails.templates_for(rep_b)} == {everyone.pk, ours.pk} | {
        EmailTemplate.objects.get(name="B's own").pk
    }
    groups = emails.template_groups(emails.templates_for(rep))
    assert [(label, [t.pk for t in items]) for label, items in groups] == [
        ("My templates", [mine.pk]),
        ("North team", [ours.pk]),
        ("Everyone's", [everyone.pk]),
    ]


# --- Sending from a lead ----------------------------------------------------------------------


def test_sending_from_a_lead_mails_it_logs_it_and_counts_as_first_contact(
    sender: User, lead: Lead
) -> None:
    created = lead.created_at
    note = emails.lead_send_email(
        lead=lead, actor=sender, to=" rita@acme.com ", subject="Hello\r\nBcc: x@y", body="Hi!\n"
    )
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["rita@acme.com"]
    assert message.subject == "Hello Bcc: x@y"  # one header line, no injected header
    assert message.body == "Hi!"
    assert message.reply_to == ["rep.a@example.com"]
    assert message.from_email == "CRM <crm@localhost>"
    assert note.kind == LeadNote.Kind.EMAIL
    assert note.author == sender
    assert note.body == "To: rita@acme.com\nSubject: Hello Bcc: x@y\n\nHi!"
    assert note.outcome == "Sent to rita@acme.com"
    lead.refresh_from_db()
    assert lead.status == Status.CONTACTED
    assert lead.first_contacted_at == note.created_at
    assert lead.first_response_time == note.created_at - created
    emailed = AuditEvent.objects.for_object(lead).get(action=AuditEvent.Action.EMAILED)
    assert emailed.actor == sender
    assert emailed.note == "To rita@acme.com: Hello Bcc: x@y"
    assert emailed.target_version == lead.version


def test_a_second_email_does_not_move_the_first_contact(sender: User, lead: Lead) -> None:
    first = emails.lead_send_email(lead=lead, actor=sender, to=lead.email, subject="1", body="a")
    emails.lead_send_email(lead=lead, actor=sender, to=lead.email, subject="2", body="b")
    lead.refresh_from_db()
    assert lead.first_contacted_at == first.created_at
    assert LeadNote.objects.filter(lead=lead, kind="email").count() == 2
    assert len(mail.outbox) == 2


@pytest.mark.parametrize(
    ("backend", "reason"),
    [
        (FAILING, "{'x@example.com': (550, b'Mailbox unavailable')}"),
        (UNREACHABLE, "[Errno 111] Connection refused"),
    ],
)
def test_a_send_failure_is_reported_and_nothing_is_logged(
    sender: User, lead: Lead, backend: str, reason: str
) -> None:
    before = AuditEvent.objects.for_object(lead).count()
    with override_settings(EMAIL_BACKEND=backend), pytest.raises(ValidationError) as error:
        emails.lead_send_email(lead=lead, actor=sender, to=lead.email, subject="S", body="B")
    assert error.value.messages == [emails.EMAIL_SEND_FAILED.format(reason=reason)]
    assert not LeadNote.objects.filter(lead=lead).exists()
    assert AuditEvent.objects.for_object(lead).count() == before
    lead.refresh_from_db()
    assert lead.status == Status.NEW
    assert lead.first_contacted_at is None


@pytest.mark.parametrize(
    ("to", "subject", "body", "message"),
    [
        ("", "S", "B", emails.EMAIL_NEEDS_RECIPIENT),
        ("not-an-address", "S", "B", emails.EMAIL_BAD_RECIPIENT.format(to="not-an-address")),
        ("a@b.com, c@d.com", "S", "B", emails.EMAIL_BAD_RECIPIENT.format(to="a@b.com, c@d.com")),
        ("a@b.com", "  \n ", "B", emails.EMAIL_NEEDS_SUBJECT),
        ("a@b.com", "S", "   ", emails.EMAIL_NEEDS_BODY),
    ],
)
def test_bad_messages_are_refused_before_sending(
    sender: User, lead: Lead, to: str, subject: str, body: str, message: str
) -> None:
    with pytest.raises(ValidationError) as error:
        emails.lead_send_email(lead=lead, actor=sender, to=to, subject=subject, body=body)
    assert error.value.messages == [message]
    assert mail.outbox == []


def test_only_those_who_work_the_lead_may_email_from_it(
    sender: User, rep_b: User, manager: User, lead: Lead
) -> None:
    with pytest.raises(ValidationError) as error:
        emails.lead_send_email(lead=lead, actor=rep_b, to=lead.email, subject="S", body="B")
    assert error.value.messages == [services.NOT_YOUR_LEAD.format(owner=sender)]
    pooled = make_lead(manager, email="pool@example.com")
    with pytest.raises(ValidationError) as error:
        emails.lead_send_email(lead=pooled, actor=sender, to=pooled.email, subject="S", body="B")
    assert error.value.messages == [services.CLAIM_FIRST]
    assert mail.outbox == []
    emails.lead_send_email(lead=lead, actor=manager, to=lead.email, subject="S", body="B")
    assert mail.outbox[0].reply_to == ["manager@example.com"]


def test_a_converted_lead_is_emailed_from_its_deal(sender: User) -> None:
    deal = make_deal(sender, email="conv@example.com")
    lead = deal.source_lead
    assert lead is not None
    with pytest.raises(ValidationError) as error:
        emails.lead_send_email(lead=lead, actor=sender, to=lead.email, subject="S", body="B")
    assert error.value.messages == [services.CONVERTED_IS_READ_ONLY]
    assert mail.outbox == []


# --- Sending from a deal ----------------------------------------------------------------------


def test_sending_from_a_deal_logs_a_deal_note(sender: User, rep_b: User) -> None:
    deal = make_deal(sender, email="buyer@example.com")
    assert emails.default_recipient(deal=deal) == "buyer@example.com"
    note = emails.deal_send_email(
        deal=deal, actor=sender, to="buyer@example.com", subject="Proposal", body="Attached."
    )
    assert isinstance(note, DealNote)
    assert note.kind == "email"
    assert note.body == "To: buyer@example.com\nSubject: Proposal\n\nAttached."
    assert mail.outbox[0].to == ["buyer@example.com"]
    assert mail.outbox[0].reply_to == ["rep.a@example.com"]
    assert AuditEvent.objects.for_object(deal).filter(action=AuditEvent.Action.EMAILED).count() == 1
    with pytest.raises(ValidationError):
        emails.deal_send_email(deal=deal, actor=rep_b, to="b@example.com", subject="S", body="B")
    with override_settings(EMAIL_BACKEND=FAILING), pytest.raises(ValidationError):
        emails.deal_send_email(deal=deal, actor=sender, to="b@example.com", subject="S", body="B")
    assert DealNote.objects.filter(deal=deal, kind="email").count() == 1


# --- A user's own templates -------------------------------------------------------------------


def test_personal_templates_belong_to_their_author(sender: User, rep_b: User) -> None:
    mine = emails.email_template_create(
        actor=sender, name=" Intro ", subject="Hi\n{{ lead.first_name }}", body="Body "
    )
    assert (mine.name, mine.subject, mine.body, mine.owner, mine.team) == (
        "Intro",
        "Hi {{ lead.first_name }}",
        "Body",
        sender,
        None,
    )
    with pytest.raises(ValidationError) as error:
        emails.email_template_update(template=mine, actor=rep_b, name="X", subject="X", body="X")
    assert error.value.messages == [emails.TEMPLATE_NOT_YOURS]
    with pytest.raises(ValidationError):
        emails.email_template_delete(template=mine, actor=rep_b)
    emails.email_template_update(template=mine, actor=sender, name="Intro 2", subject="S", body="B")
    updated = AuditEvent.objects.for_object(mine).get(action=AuditEvent.Action.UPDATED)
    assert updated.changes == {
        "name": ["Intro", "Intro 2"],
        "subject": ["Hi {{ lead.first_name }}", "S"],
        "body": ["Body", "B"],
    }
    emails.email_template_delete(template=mine, actor=sender)
    assert not EmailTemplate.objects.filter(pk=mine.pk).exists()


def test_a_template_with_an_unknown_placeholder_is_refused(sender: User) -> None:
    with pytest.raises(ValidationError) as error:
        emails.email_template_create(
            actor=sender, name="Bad", subject="{{ lead.nope }}", body="{% load x %}{{ me.name }}"
        )
    assert error.value.messages == [
        "Unknown placeholder {{ lead.nope }}",
        "Unknown placeholder {{ me.name }}",
    ]
