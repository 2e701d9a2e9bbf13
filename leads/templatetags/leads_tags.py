from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.formats import date_format

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
def button_class(status: str) -> str:
    if status in ("lost", "unqualified", "junk", "canceled"):
        return "btn-outline-secondary"
    if status == "qualified":
        return "btn-outline-success"
    return "btn-outline-primary"


@register.filter
def audit_value(value: object) -> object:
    """History stores datetimes as ISO text; show them in the reader's timezone."""
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == "T":
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        if timezone.is_aware(moment):
            return date_format(timezone.localtime(moment), "M j, Y H:i")
    return value
