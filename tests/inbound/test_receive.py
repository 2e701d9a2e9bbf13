"""Storing and processing a message: new leads, activity, threads, what is left alone."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from accounts.models import Team, User
from crm.models import Notification
from crm.notifications import message_id as notification_message_id
from crm.notifications import notify
from leads.inbound import services
from leads.inbound.models import InboundEmail, Mailbox
from leads.inbound.parsing import NO_HEADERS
from leads.models import AssignmentRule, Lead, LeadNote
from tests.factories import make_lead
from tests.inbound.conftest import MakeMessage, message

pytestmark = pytest.mark.django_db

Status = InboundEmail.Status


def receive(mailbox: Mailbox, raw: bytes, **kwargs: Any) -> tuple[services.Outcome, InboundEmail]:
    outcome = services.inbound_email_receive(mailbox=mailbox, raw=raw, **kwargs)
    return outcome, InboundEmail.objects.get(pk=outcome.inbound or 0)


def test_an_unknown_sender_becomes_a_lead_routed_by_the_rules(
    mailbox: Mailbox, rep: User, make_message: MakeMessage
) -> None:
    AssignmentRule.objects.create(name="Sales inbox to Rep A", mailbox_ids=[mailbox.pk], user=rep)
    raw = make_message(sender="Rita Acme <Rita@Acme.test>", body="Hello, a quote please.")
    outcome, inbound = receive(mailbox, raw)

    lead = Lead.objects.get(email="rita@acme.test")
    assert outcome == services.Outcome(status="created", inbound=inbound.pk, lead=lead.pk)
    assert (lead.first_name, lead.last_name) == ("Rita", "Acme")
    assert lead.source.name == "Email"
    assert lead.owner == rep
    assert lead.status == Lead.Status.NEW
    assert lead.first_contacted_at is None
    note = lead.notes.get()
    assert note.kind == LeadNote.Kind.EMAIL_IN
    assert (
        note.body
        == "Subject: Quote for 20 seats\n\nHello, a quote please.\n\n— via Mailbox “sales”"
    )
    assert note.message_id == inbound.message_id
    assert bytes(inbound.raw) == raw
    assert inbound.size == len(raw)
    assert (inbound.status, inbound.lead, inbound.attempts) == (Status.CREATED, lead, 1)
    assert inbound.sender_email == "rita@acme.test"
    assert inbound.processed_at is not None


def test_attachments_are_listed_and_named_on_the_note(
    mailbox: Mailbox, make_message: MakeMessage
) -> None:
    msg = message(body="Our requirements are attached.")
    msg.add_attachment(b"%PDF" * 250, maintype="application", subtype="pdf", filename="rfp.pdf")
    msg.add_attachment(b"\x89PNG" * 10, maintype="image", subtype="png")
    _outcome, inbound = receive(mailbox, msg.as_bytes())
    assert inbound.attachments == [
        {"name": "rfp.pdf", "type": "application/pdf", "size": 1000},
        {"name": "", "type": "image/png", "size": 40},
    ]
    note = inbound.lead.notes.get()
    assert f"Attached: rfp.pdf, image/png (kept in inbound email #{inbound.pk})." in note.body


def test_nobody_routed_falls_into_the_mailbox_teams_pool(
    mailbox: Mailbox, team: Team, manager: User, make_message: MakeMessage
) -> None:
    _outcome, inbound = receive(mailbox, make_message())
    assert inbound.lead.owner is None
    assert inbound.lead.team == team


def test_a_known_sender_is_activity_on_their_open_lead(
    mailbox: Mailbox, rep: User, make_message: MakeMessage
) -> None:
    lead = make_lead(rep, email="rita@acme.test")
    outcome, inbound = receive(mailbox, make_message(sender="RITA@acme.test", body="Any news?"))
    assert (outcome.status, outcome.lead) == ("attached", lead.pk)
    assert Lead.objects.count() == 1
    note = lead.notes.get(kind=LeadNote.Kind.EMAIL_IN)
    assert "Any news?" in note.body
    lead.refresh_from_db()
    assert lead.status == Lead.Status.NEW  # what they sent us is not our contact with them
    assert lead.first_contacted_at is None
    assert Notification.objects.filter(user=rep, kind=Notification.Kind.INQUIRY).exists()
    assert inbound.status == Status.ATTACHED


def test_a_reply_to_an_email_logged_on_a_lead_threads_onto_it(
    mailbox: Mailbox, rep: User, make_message: MakeMessage
) -> None:
    lead = make_lead(rep, email="old@address.test")
    LeadNote.objects.create(lead=lead, kind="email", body="Hi", message_id="<sent-1@crm.test>")
    raw = make_message(
        sender="someone.else@other.test",
        body="Replying from my other address.\n\nOn Mon, Sam wrote:\n> Hi",
        headers={"In-Reply-To": "<sent-1@crm.test>", "References": "<sent-1@crm.test>"},
    )
    outcome, _inbound = receive(mailbox, raw)
    assert (outcome.status, outcome.lead) == ("attached", lead.pk)
    note = lead.notes.get(kind=LeadNote.Kind.EMAIL_IN)
    assert "Replying from my other address." in note.body
    assert "> Hi" not in note.body
    assert not Lead.objects.filter(email="someone.else@other.test").exists()


def test_a_reply_to_a_notification_threads_onto_its_lead(
    mailbox: Mailbox, rep: User, make_message: MakeMessage
) -> None:
    lead = make_lead(rep, email="ann@lead.test")
    sent = notify(user=rep, kind="assigned", key="t:1", title="Yours", url="/", target=lead)
    raw = make_message(
        sender="ann.other@elsewhere.test",
        headers={"In-Reply-To": notification_message_id(sent.pk)},
    )
    outcome, _inbound = receive(mailbox, raw)
    assert (outcome.status, outcome.lead) == ("attached", lead.pk)
    assert lead.notes.filter(kind=LeadNote.Kind.EMAIL_IN).count() == 1


def test_a_reply_to_another_sites_notification_id_is_not_a_thread(
    mailbox: Mailbox, rep: User, make_message: MakeMessage
) -> None:
    lead = make_lead(rep)
    sent = notify(user=rep, kind="assigned", key="t:1", title="Yours", url="/", target=lead)
    raw = make_message(headers={"In-Reply-To": f"<notification-{sent.pk}@elsewhere.test>"})
    outcome, _inbound = receive(mailbox, raw)
    assert outcome.status == "created"
    assert outcome.lead != lead.pk


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto-Submitted": "auto-replied"},
        {"Precedence": "bulk"},
        {"Precedence": "list"},
        {"X-Autoreply": "yes"},
    ],
)
def test_automatic_mail_is_stored_and_ignored(
    mailbox: Mailbox, make_message: MakeMessage, headers: dict[str, str]
) -> None:
    outcome, inbound = receive(mailbox, make_message(headers=headers))
    assert (outcome.status, outcome.lead) == ("ignored", None)
    assert inbound.status == Status.IGNORED
    assert inbound.reason
    assert not Lead.objects.exists()


def test_mail_from_the_crm_itself_is_a_loop_and_ignored(
    mailbox: Mailbox, make_message: MakeMessage, settings: Any
) -> None:
    settings.DEFAULT_FROM_EMAIL = "CRM <crm@crm.test>"
    outcome, _ = receive(mailbox, make_message(sender="CRM <CRM@crm.test>"))
    assert (outcome.status, outcome.reason) == (
        "ignored",
        "Sent by this CRM (crm@crm.test): a mail loop, not a person writing.",
    )
    assert not Lead.objects.exists()


def test_mail_from_a_user_of_the_crm_is_not_an_inquiry(
    mailbox: Mailbox, rep: User, make_message: MakeMessage
) -> None:
    outcome, _ = receive(mailbox, make_message(sender=f"Rep <{rep.email.upper()}>"))
    assert (outcome.status, outcome.reason) == (
        "ignored",
        f"Sent by a user of the CRM ({rep.email}), not by a lead or a contact.",
    )
    assert not Lead.objects.exists()


def test_a_bounce_is_ignored(mailbox: Mailbox, make_message: MakeMessage) -> None:
    outcome, _ = receive(mailbox, make_message(sender="MAILER-DAEMON@mx.acme.test"))
    assert outcome.status == "ignored"
    assert not Lead.objects.exists()


def test_the_same_message_id_again_is_a_duplicate_stored_once(
    mailbox: Mailbox, make_message: MakeMessage
) -> None:
    raw = make_message(message_id="<once@acme.test>")
    first, _ = receive(mailbox, raw)
    again = services.inbound_email_receive(mailbox=mailbox, raw=raw)
    assert again == services.Outcome(
        status="duplicate",
        inbound=first.inbound,
        lead=first.lead,
        reason=f"Already received as inbound email #{first.inbound}.",
    )
    assert InboundEmail.objects.count() == 1
    assert Lead.objects.count() == 1


def test_the_same_message_id_in_another_mailbox_is_another_message(
    mailbox: Mailbox, make_message: MakeMessage
) -> None:
    other, _token = services.mailbox_create(name="support")
    raw = make_message(message_id="<once@acme.test>")
    receive(mailbox, raw)
    outcome, _ = receive(other, raw)
    assert outcome.status == "attached"  # the same person, already a lead
    assert InboundEmail.objects.count() == 2


def test_a_malformed_message_is_stored_and_rejected(mailbox: Mailbox) -> None:
    raw = b"Hello, I would like a quote."
    outcome, inbound = receive(mailbox, raw)
    assert outcome == services.Outcome(status="rejected", inbound=inbound.pk, reason=NO_HEADERS)
    assert bytes(inbound.raw) == raw
    assert not Lead.objects.exists()


def test_a_message_over_the_cap_keeps_what_fits_and_is_rejected(
    mailbox: Mailbox, make_message: MakeMessage, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services, "MAX_MESSAGE_BYTES", 1000)
    raw = make_message(body="x" * 2000)
    outcome, inbound = receive(mailbox, raw)
    reason = f"The message is too large ({len(raw)} bytes; at most 1000 are accepted)."
    assert outcome == services.Outcome(status="rejected", inbound=inbound.pk, reason=reason)
    assert bytes(inbound.raw) == raw[:1000]
    assert inbound.size == len(raw)
    assert not Lead.objects.exists()


def test_a_processing_failure_is_failed_and_kept_then_reprocessed(
    mailbox: Mailbox, make_message: MakeMessage, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(inquiry: Any) -> Any:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(services, "capture_inquiry", broken)
    outcome, inbound = receive(mailbox, make_message())
    assert outcome.status == "failed"
    assert inbound.reason == (
        "Processing failed: RuntimeError: the database went away. "
        "The message is kept; re-process it from the admin."
    )
    assert inbound.sender_email == "rita@acme.test"  # what was read is shown
    assert not Lead.objects.exists()

    monkeypatch.undo()
    again = services.inbound_email_reprocess(pk=inbound.pk)
    assert again is not None
    assert (again.status, again.attempts, again.reason) == (Status.CREATED, 2, "")
    assert again.lead == Lead.objects.get()
    assert services.inbound_email_reprocess(pk=inbound.pk) is None  # done: not twice


def test_a_deleted_mailbox_keeps_its_messages(mailbox: Mailbox, make_message: MakeMessage) -> None:
    _outcome, inbound = receive(mailbox, make_message())
    mailbox.delete()
    inbound.refresh_from_db()
    assert inbound.mailbox is None
    assert inbound.received_at <= timezone.now()
