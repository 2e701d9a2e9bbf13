"""Forms and the list's filters for tasks (follow-ups). They validate; views call services."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any, cast

import django_filters
from django import forms
from django.db.models import Q
from django.utils import timezone

from accounts.models import Scope, User, access_scope
from crm.followups.models import Task, TaskQuerySet
from crm.forms import VersionRequired, version_field
from crm.validators import safe_localtime, validate_date_bounds
from leads.forms import DATETIME_FORMATS, DATETIME_INPUT

# Minutes before the due time; "" is no reminder.
REMIND_CHOICES: list[tuple[str, str]] = [
    ("0", "At the due time"),
    ("15", "15 minutes before"),
    ("60", "1 hour before"),
    ("1440", "1 day before"),
    ("", "No reminder"),
]
OUTCOME_LABEL = "Outcome (logged on the {record})"


def remind_choices(current: int | None = None) -> list[tuple[str, str]]:
    """The presets, plus the task's own value if it was set to something else."""
    choices = list(REMIND_CHOICES)
    if current is not None and str(current) not in dict(choices):
        choices.insert(-1, (str(current), f"{current} minutes before"))
    return choices


class TaskForm(VersionRequired, forms.Form):
    """Create and edit. ``people`` is who the user may give the task to (None: only self)."""

    title = forms.CharField(max_length=200)
    kind = forms.ChoiceField(choices=Task.Kind.choices, initial=Task.Kind.TODO)
    due_at = forms.DateTimeField(
        validators=[validate_date_bounds],
        widget=DATETIME_INPUT,
        input_formats=DATETIME_FORMATS,
        label="Due",
    )
    remind_before = forms.TypedChoiceField(
        coerce=int, empty_value=None, required=False, label="Remind me"
    )
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    assignee = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    version = version_field()

    def __init__(
        self,
        *args: Any,
        people: list[tuple[int, str]] | None = None,
        editing: Task | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        current = editing.remind_before if editing is not None else None
        remind = cast(forms.TypedChoiceField, self.fields["remind_before"])
        remind.choices = remind_choices(current)
        if editing is None and "remind_before" not in self.initial:
            self.initial["remind_before"] = "0"
        if people and editing is None:
            assignee = cast(forms.TypedChoiceField, self.fields["assignee"])
            assignee.choices = people
            assignee.label = "Assign to"
        else:
            del self.fields["assignee"]  # reassigning is its own action
        if editing is None:
            del self.fields["version"]

    def clean_title(self) -> str:
        return " ".join(self.cleaned_data["title"].split())


class CompleteForm(VersionRequired, forms.Form):
    outcome = forms.CharField(max_length=2000, required=False)
    version = version_field()


class ReopenForm(VersionRequired, forms.Form):
    version = version_field()


class RescheduleForm(VersionRequired, forms.Form):
    """+1 day, +1 week, or a time picked by hand. A clicked +1 day / +1 week wins: a
    browser sends a button's name only when it is the one clicked, while the time field
    is always sent (prefilled with the current due time)."""

    SHIFTS = {"day": timedelta(days=1), "week": timedelta(weeks=1)}

    shift = forms.ChoiceField(choices=[("day", "+1 day"), ("week", "+1 week")], required=False)
    due_at = forms.DateTimeField(
        validators=[validate_date_bounds],
        required=False,
        widget=DATETIME_INPUT,
        input_formats=DATETIME_FORMATS,
        label="New due",
    )
    version = version_field()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("due_at") and not data.get("shift") and not self.errors:
            raise forms.ValidationError("Pick a new due time, or +1 day / +1 week.")
        return data

    def new_due(self, task: Task) -> datetime:
        """The due time moved on by the clicked shift, from today if it is already past
        (an overdue task moved "+1 day" lands tomorrow, not on another past day); without
        a shift, the picked time."""
        picked: datetime | None = self.cleaned_data.get("due_at")
        shift: str = self.cleaned_data.get("shift") or ""
        if not shift and picked is not None:
            return picked
        step = self.SHIFTS[shift]
        due = safe_localtime(task.due_at)
        current = timezone.localtime()
        if due < current:
            due = due.replace(year=current.year, month=current.month, day=current.day)
        # Whole local days, so a move across a DST change keeps the wall-clock time.
        local = datetime.combine(due.date() + step, due.time())
        return timezone.make_aware(local)


class ReassignForm(VersionRequired, forms.Form):
    assignee = forms.TypedChoiceField(coerce=int)
    version = version_field()

    def __init__(self, *args: Any, people: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.TypedChoiceField, self.fields["assignee"]).choices = people


# --- The list's filters ----------------------------------------------------------------------

SHOW_CHOICES = [
    ("overdue", "Overdue"),
    ("today", "Today"),
    ("upcoming", "Upcoming"),
    ("done", "Done"),
]


def day_bounds(day: Any) -> tuple[datetime, datetime]:
    """Midnight to midnight of ``day`` in the current (the user's) timezone."""
    start = timezone.make_aware(datetime.combine(day, time.min))
    end = timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))
    return start, end


def show_condition(value: str) -> Q:
    """Which tasks a tab shows; "" (the default) is every open task."""
    start, end = day_bounds(timezone.localdate())
    open_tasks = Q(done_at__isnull=True)
    if value == "overdue":
        return open_tasks & Q(due_at__lt=timezone.now())
    if value == "today":
        return open_tasks & Q(due_at__gte=start, due_at__lt=end)
    if value == "upcoming":
        return open_tasks & Q(due_at__gte=end)
    if value == "done":
        return Q(done_at__isnull=False)
    return open_tasks


class TaskFilter(django_filters.FilterSet):
    """Whose tasks (me by default; managers: their team or one person) and which ones."""

    show = django_filters.ChoiceFilter(
        choices=SHOW_CHOICES, method="filter_show", empty_label="All open"
    )
    who = django_filters.ChoiceFilter(method="filter_who", empty_label=None, label="Whose")

    class Meta:
        model = Task
        fields: list[str] = []

    def __init__(
        self, *args: Any, user: User, people: list[tuple[int, str]], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.filters["who"].extra["choices"] = who_choices(user, people)

    def _value(self, name: str) -> str:
        # A bad value in one field (a stale person id) leaves the other one working.
        self.form.is_valid()
        return str(getattr(self.form, "cleaned_data", {}).get(name) or "")

    @property
    def tab(self) -> str:
        return self._value("show")

    @property
    def whose(self) -> str:
        return self._value("who") or "me"

    def filter_show(self, queryset: TaskQuerySet, name: str, value: str) -> TaskQuerySet:
        return queryset  # applied in ``qs`` so that "All open" is a filter too

    def filter_who(self, queryset: TaskQuerySet, name: str, value: str) -> TaskQuerySet:
        return queryset  # applied in ``qs``: "me" is also the default when nothing is sent

    def people_filter(self) -> Q:
        """Within what ``visible_to`` already allows: "team" adds nothing to it."""
        if self.whose == "team":
            return Q()
        if self.whose != "me":
            return Q(assignee_id=int(self.whose))
        return Q(assignee_id=self.user.pk)

    @property
    def qs(self) -> TaskQuerySet:
        queryset = cast(TaskQuerySet, super().qs)
        return queryset.filter(self.people_filter(), show_condition(self.tab))


def who_choices(user: User, people: list[tuple[int, str]]) -> list[tuple[str, str]]:
    others = [(str(pk), label) for pk, label in people if pk != user.pk]
    if not others:
        return [("me", "Mine")]
    everyone = "Everyone" if access_scope(user) == Scope.ALL else "My team"
    return [("me", "Mine"), ("team", everyone), *others]
