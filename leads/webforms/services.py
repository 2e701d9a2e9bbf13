"""From a valid submission to a lead (or an activity on a known one)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils.timezone import now

from crm.models import Notification
from crm.notifications import RenderedEmail, build_notification, notify_many
from crm.placeholders import render_placeholders, unknown_placeholders
from leads.capture.services import WEB_FORM, Captured, Inquiry, capture_inquiry
from leads.models import Source
from leads.webforms.models import DEFAULT_SOURCE, WebForm

# What an acknowledgement may name.
ACK_PLACEHOLDERS = {
    "lead.first_name": "The visitor's first name",
    "lead.last_name": "The visitor's last name",
    "lead.full_name": "The visitor's full name",
    "lead.company": "The visitor's company",
    "form.name": "The form's name",
}
LEAD_FIELDS = [
    "first_name",
    "last_name",
    "email",
    "phone",
    "company",
    "job_title",
    "website",
    "country",
    "budget",
    "authority",
    "need",
    "timeline",
]


@dataclass
class Submitted:
    captured: Captured
    acknowledged: bool


def ack_problems(form: WebForm) -> list[str]:
    return unknown_placeholders(form.ack_subject, form.ack_body, known=ACK_PLACEHOLDERS)


def _ack_values(form: WebForm, data: dict[str, Any]) -> dict[str, str]:
    first, last = str(data.get("first_name") or ""), str(data.get("last_name") or "")
    return {
        "lead.first_name": first,
        "lead.last_name": last,
        "lead.full_name": f"{first} {last}".strip(),
        "lead.company": str(data.get("company") or ""),
        "form.name": form.name,
    }


def acknowledgement(form: WebForm, data: dict[str, Any]) -> RenderedEmail:
    values = _ack_values(form, data)
    subject = " ".join(render_placeholders(form.ack_subject, values).split())
    return RenderedEmail(subject=subject[:255], text=render_placeholders(form.ack_body, values))


def form_source(form: WebForm) -> Source:
    """A form is saved with its source (``WebForm.save``); one saved before it was not."""
    if form.source is not None:
        return form.source
    return Source.objects.get_or_create(name=DEFAULT_SOURCE)[0]


@transaction.atomic
def submission_accept(
    *, form: WebForm, data: dict[str, Any], tracking: dict[str, str], at: datetime | None = None
) -> Submitted:
    """A person's submission that passed every check: capture it, count it, and queue
    the acknowledgement (sent by the outbox after the commit, once). ``at``: when it
    came in (now; the demo dates its own)."""
    at = at or now()
    fields: dict[str, Any] = {
        name: data[name] for name in LEAD_FIELDS if name in data and data[name] not in (None, "")
    }
    fields["source"] = form_source(form)
    fields.update({name: value for name, value in tracking.items() if value})
    label = f"Web form “{form.name}”"
    if data.get("consent"):
        fields.update(
            marketing_consent=True,
            consent_at=at,
            consent_source=label[:100],
            consent_text=form.consent_text,
        )
    captured = capture_inquiry(
        Inquiry(
            channel=WEB_FORM,
            label=label,
            fields=fields,
            message=str(data.get("message") or ""),
            team=form.team,
            # The view reads the form with its tags' ids: no query for a form without.
            tags=list(form.tags.all()) if getattr(form, "tag_ids", None) != [] else [],
            web_form_id=form.pk,
            at=at,
        )
    )
    email = str(data.get("email") or "").strip().lower()
    acknowledged = False
    if form.acknowledge and email:
        rendered = acknowledgement(form, data)
        # Keyed by the new note: never there already, so no savepoint to catch a repeat
        # (a repeat would be left out by the insert itself).
        notify_many(
            [
                build_notification(
                    user=None,
                    email_to=email,
                    kind=Notification.Kind.ACKNOWLEDGEMENT,
                    key=f"webform:{form.pk}:ack:{captured.note_id}",
                    title=rendered.subject[:200],
                    email=rendered,
                    target=captured.lead,
                    at=at,
                )
            ]
        )
        acknowledged = True
    # Last: the form's row is every submission's, and stays locked until the commit.
    WebForm.objects.filter(pk=form.pk).update(submissions=F("submissions") + 1)
    return Submitted(captured=captured, acknowledged=acknowledged)
