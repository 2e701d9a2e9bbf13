"""The demo web form and assignment rules for ``seed_demo``: a "Contact us" form at
``/f/contact/`` (with consent and an acknowledgement), two rules that route what it brings
(DACH visitors to one rep, everyone else round-robin in the demo team), and a few
submissions through the real path. Made once; running it again changes nothing."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import F
from django.utils.timezone import now

from accounts.demo import DEMO_TEAM
from accounts.models import Team, User
from crm.models import AuditEvent, Notification
from leads.capture.services import CREATED
from leads.models import AssignmentRule, Lead
from leads.webforms.models import WebForm
from leads.webforms.services import form_source, submission_accept

DEMO_SLUG = "contact"
CONSENT = "Yes, you may email me news about your products. I can unsubscribe at any time."
SUBMISSIONS = [
    {
        "first_name": "Jonas",
        "last_name": "Weber",
        "email": "jonas.weber@alpenholz.example",
        "company": "Alpenholz GmbH",
        "country": "DE",
        "message": "We need a CRM for a sales team of six. Can you send pricing?",
        "consent": True,
    },
    {
        "first_name": "Amelia",
        "last_name": "Brooks",
        "email": "amelia.brooks@harbourlane.example",
        "company": "Harbour Lane Studio",
        "country": "GB",
        "message": "Could we book a demo for Thursday afternoon?",
        "consent": False,
    },
    {
        "first_name": "Sofia",
        "last_name": "Marino",
        "email": "sofia.marino@lucecasa.example",
        "company": "Luce Casa",
        "country": "IT",
        "message": "Do you import contacts from spreadsheets?",
        "consent": True,
    },
]
TRACKING = {"utm_source": "newsletter", "utm_medium": "email", "utm_campaign": "winter-2026"}


@transaction.atomic
def seed_web_form(*, rep2: User, deal_contact: str = "") -> tuple[WebForm, int]:
    """The demo form and rules; returns the form and how many demo submissions were made
    (``deal_contact``: the email of an open deal's contact, who writes in through the
    form too, so the deal's timeline shows it)."""
    team = Team.objects.get(name=DEMO_TEAM)
    form, created = WebForm.objects.get_or_create(
        slug=DEMO_SLUG,
        defaults={
            "name": "Contact us",
            "title": "Talk to our sales team",
            "intro": "Tell us what you need; we answer within one working day.",
            "team": team,
            "fields": [
                "first_name",
                "last_name",
                "email",
                "phone",
                "company",
                "country",
                "message",
            ],
            "required": ["first_name", "last_name", "email"],
            "consent_text": CONSENT,
            "acknowledge": True,
            "allowed_hosts": "localhost",
        },
    )
    if form.source_id is None:
        form.source = form_source(form)
        form.save(update_fields=["source"])
    AssignmentRule.objects.get_or_create(
        name="DACH web leads",
        defaults={
            "position": 10,
            "web_form_ids": [form.pk],
            "countries": ["DE", "AT", "CH"],
            "user": rep2,
        },
    )
    AssignmentRule.objects.get_or_create(
        name="Web leads round-robin",
        defaults={"position": 20, "web_form_ids": [form.pk], "team": team},
    )
    if not created:
        return form, 0
    people = list(SUBMISSIONS)
    if deal_contact:
        people.append(
            {
                "first_name": deal_contact.split("@")[0].split(".")[0].title(),
                "email": deal_contact,
                "message": "Before we sign: can the contract start on the first of the month?",
            }
        )
    made = 0
    for n, person in enumerate(people):
        ago = timedelta(hours=3 + 7 * n)
        submitted = submission_accept(form=form, data=person, tracking=TRACKING, at=now() - ago)
        if submitted.captured.status == CREATED and submitted.captured.lead is not None:
            _backdate(submitted.captured.lead, ago)
            made += 1
    return form, made


def _backdate(lead: Lead, ago: timedelta) -> None:
    """Like the rest of the demo, what a submission made happened a while ago."""
    moved = {name: F(name) - ago for name in ("created_at", "updated_at", "last_activity_at")}
    Lead.objects.filter(pk=lead.pk).update(**moved, sla_due_at=F("sla_due_at") - ago)
    kind = ContentType.objects.get_for_model(Lead)
    AuditEvent.objects.filter(target_type=kind, target_id=lead.pk).update(
        occurred_at=F("occurred_at") - ago
    )
    Notification.objects.filter(target_type=kind, target_id=lead.pk).update(
        created_at=F("created_at") - ago
    )
