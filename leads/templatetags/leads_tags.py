import html
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.text import Truncator

from crm.validators import safe_localtime
from leads.models import OPEN_STATUS_VALUES as OPEN_STATUSES
from leads.models import LeadRate, LeadStatus

LEAD_STATUS_LABELS = LeadStatus.choices
LEAD_RATE_LABELS = LeadRate.choices

register = template.Library()

STATUS_CLASSES = {
    "new": "text-bg-primary",
    "not_contacted": "text-bg-warning",
    "contacted": "text-bg-info",
    "qualified": "text-bg-success",
    "converted": "text-bg-dark",
    "unqualified": "text-bg-secondary",
    "lost": "text-bg-secondary",
    "junk": "text-bg-light border",
    "canceled": "text-bg-light border",
}
RATE_CLASSES = {"hot": "text-danger", "warm": "text-warning-emphasis", "cold": "text-info-emphasis"}


@register.filter
def status_class(status: str) -> str:
    return STATUS_CLASSES.get(status, "text-bg-secondary")


@register.filter
def rate_class(rate: str) -> str:
    return RATE_CLASSES.get(rate, "")


@register.filter
def score_text(lead: Any) -> str:
    """The score as pages show it: "—" for a lead never scored (not a 0 it never earned)."""
    return "—" if lead.scored_at is None else str(lead.score)


@register.filter
def button_class(status: str) -> str:
    if status in ("lost", "unqualified", "junk", "canceled"):
        return "btn-outline-secondary"
    if status == "qualified":
        return "btn-outline-success"
    return "btn-outline-primary"


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _short_date(moment: datetime, with_year: bool) -> str:
    # English month abbreviations, as LANGUAGE_CODE is en-us; strftime is ~20x cheaper
    # than date_format, which matters fifty times a page.
    local = safe_localtime(moment)
    if with_year:
        return f"{local:%b} {local.day}, {local.year}"
    return f"{local:%b} {local.day}, {local:%H:%M}"


def _sla_state(lead: Any, moment: datetime) -> str:
    """A new lead's response-time state: waiting past its contact deadline ("breached"),
    waiting within it ("waiting"), or not waiting at all ("")."""
    if lead.status != "new" or lead.first_contacted_at is not None or lead.sla_due_at is None:
        return ""
    return "breached" if lead.sla_due_at < moment else "waiting"


@register.simple_tag
def sla_badge(lead: Any) -> str:
    """The response-time flag of a new lead still waiting for its first contact."""
    state = _sla_state(lead, timezone.now())
    if not state:
        return ""
    due = date_format(safe_localtime(lead.sla_due_at), "M j, H:i")
    if state == "breached":
        return format_html(
            '<span class="badge text-bg-danger" id="lead-sla" title="Contact was due {}">'
            "SLA breached · was due {}</span>",
            due,
            due,
        )
    return format_html(
        '<span class="badge text-bg-light border" id="lead-sla">Contact by {}</span>', due
    )


@register.simple_tag
def lead_rows(leads: Iterable[Any], selectable: bool = False) -> str:
    """The list's rows, rendered in Python: at 50 rows the template engine's per-variable
    cost was most of the page time (measured with benchmark_leads). Every value that comes
    from the database goes through ``_esc``."""
    base = reverse("leads:list")
    moment = timezone.now()
    statuses = dict(LEAD_STATUS_LABELS)
    rates = dict(LEAD_RATE_LABELS)
    rows = []
    for lead in leads:
        href = f"{base}{lead.pk}/"
        is_open = lead.status in OPEN_STATUSES
        if lead.next_action:
            overdue = is_open and lead.next_action_due is not None and lead.next_action_due < moment
            css = "text-danger fw-semibold" if overdue else "text-body-secondary"
            next_cell = (
                f"{_esc(Truncator(lead.next_action).chars(40))}"
                f'<div class="small {css}">{"Overdue · " if overdue else ""}'
                f"{_short_date(lead.next_action_due, with_year=False)}</div>"
            )
        elif is_open:
            next_cell = '<span class="badge text-bg-danger">No next action</span>'
        else:
            next_cell = ""
        owner = (
            _esc(lead.owner)
            if lead.owner_id
            else '<span class="badge text-bg-warning">Unassigned</span>'
        )
        sla = _sla_state(lead, moment)
        if sla == "breached":
            sla_cell = (
                ' <span class="badge text-bg-danger" title="Contact was due '
                f'{_short_date(lead.sla_due_at, with_year=False)}">SLA breached</span>'
            )
        elif sla == "waiting":
            sla_cell = (
                '<div class="small text-body-secondary">Contact by '
                f"{_short_date(lead.sla_due_at, with_year=False)}</div>"
            )
        else:
            sla_cell = ""
        checkbox = (
            f'<td><input class="form-check-input" type="checkbox" name="leads" value="{lead.pk}"'
            f' aria-label="Select {_esc(lead.number)}"></td>'
            if selectable
            else ""
        )
        rate = _esc(rates.get(lead.rate, ""))
        # data-label: the column's name above each cell when a phone stacks the rows (an
        # empty cell is hidden there).
        rows.append(
            f'<tr>{checkbox}<td class="text-nowrap"><a href="{href}">{_esc(lead.number)}</a></td>'
            f'<td><a href="{href}" class="link-body-emphasis">{_esc(lead.full_name)}</a></td>'
            f"<td>{_esc(lead.company)}</td>"
            f'<td data-label="Status"><span class="badge {status_class(lead.status)}">'
            f"{_esc(statuses.get(lead.status, lead.status))}</span>{sla_cell}</td>"
            f'<td class="{rate_class(lead.rate)}" data-label="Rate">{rate}</td>'
            f'<td data-label="Score">{score_text(lead)}</td>'
            f'<td data-label="Owner">{owner}</td>'
            f'<td data-label="Next action">{next_cell}</td>'
            f'<td class="text-nowrap small" data-label="Created">'
            f"{_short_date(lead.created_at, with_year=True)}</td></tr>"
        )
    return mark_safe("\n".join(rows))  # noqa: S308  (database values escaped by _esc)
