"""Template tags every app's pages share: a fast ``<select>`` and audit-history values."""

from collections.abc import Iterable
from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from crm.validators import safe_localtime

register = template.Library()


@register.filter
def audit_value(value: object) -> object:
    """History stores datetimes as ISO text; show them in the reader's timezone."""
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == "T":
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        if timezone.is_aware(moment):
            return date_format(safe_localtime(moment), "M j, Y H:i")
    return value


@register.simple_tag
def select(
    name: str,
    choices: Iterable[tuple[object, object]],
    selected: object = None,
    css: str = "form-select form-select-sm",
    id: str = "",
    label: str = "",
    multiple: bool = False,
) -> str:
    """A <select> rendered in Python: the list pages show several with dozens of options,
    and a template loop per option costs more than the whole database query."""
    chosen = (
        {str(value) for value in selected}
        if isinstance(selected, list | tuple)
        else {"" if selected is None else str(selected)}
    )
    options = format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        (
            (value, mark_safe(" selected") if str(value) in chosen else "", text)
            for value, text in choices
        ),
    )
    return format_html(
        '<select name="{}" id="{}" class="{}"{}{}>{}</select>',
        name,
        id or f"id_{name}",
        css,
        format_html(' aria-label="{}"', label) if label else "",
        mark_safe(' multiple size="3"') if multiple else "",
        options,
    )
