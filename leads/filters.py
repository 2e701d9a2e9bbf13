from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from typing import Any

import django_filters
from django import forms
from django.core.validators import RegexValidator
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from accounts.models import User
from crm.validators import validate_date_bounds
from leads.models import Lead, LeadQuerySet, LeadSettings
from leads.phones import search_digits
from leads.scoring.services import score_bands
from leads.selectors import Choices

EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
SEARCH_TOO_SHORT = "Type at least 3 characters to search."

DUE_CHOICES = [
    ("overdue", "Overdue"),
    ("today", "Due today"),
    ("missing", "No next action"),
]
SLA_CHOICES = [("breached", "New, not contacted within the target")]
SCORE_BAND_CHOICES = [("hot", "Hot"), ("warm", "Warm"), ("cold", "Cold")]
SCORE_RANGE_REVERSED = "The lowest score must not be above the highest."
TAG_MATCH_CHOICES = [("any", "Any of these tags"), ("all", "All of these tags")]
MAX_IDLE_DAYS = 3650


NUMBERED = re.compile(r"(?P<prefix>[A-Za-z-]*)(?P<digits>[0-9]{1,10})")
DEFAULT_NUMBER_FORMAT = ("L-", 6)  # migration 0008's; older numbers keep it after a change


def lead_number_candidates(term: str) -> list[str]:
    """The lead numbers a search term can mean: the term as typed (numbers typed in by
    hand are kept as they are) and, for "475", "l-475" or "L-000475", that number in the
    current format (``LeadSettings``) and in the default one."""
    term = term.strip()
    max_length = Lead._meta.get_field("number").max_length or 20
    if not term or " " in term or len(term) > max_length:
        return []
    found = {term, term.upper()}
    match = NUMBERED.fullmatch(term)
    if match:
        current = LeadSettings.objects.filter(pk=1).values_list("number_prefix", "number_width")
        formats = {DEFAULT_NUMBER_FORMAT, *current}
        typed, digits = match["prefix"], match["digits"]
        prefixes = {typed, typed.upper(), typed.lower()} if typed else {p for p, _ in formats}
        number = int(digits)
        for prefix in prefixes:
            found.add(f"{prefix}{digits}")
            found.update(f"{prefix}{number:0{width}d}" for _, width in formats)
    return sorted(candidate for candidate in found if len(candidate) <= max_length)


def _start_of_day(day: Any) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


class IntegerFilter(django_filters.NumberFilter):
    field_class = forms.IntegerField


class LeadFilterForm(forms.Form):
    def clean_q(self) -> str:
        term = " ".join((self.cleaned_data.get("q") or "").split())
        if term and len(term) < 3:
            raise forms.ValidationError(SEARCH_TOO_SHORT)
        return term

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        low, high = data.get("score_min"), data.get("score_max")
        if low is not None and high is not None and low > high:
            self.add_error("score_max", SCORE_RANGE_REVERSED)
        return data


class LeadFilter(django_filters.FilterSet):
    """The list's filters. Every choice offered is already limited to what the user sees."""

    q = django_filters.CharFilter(method="filter_search", label="Search")
    # One select in the page; the URL may still carry several (?status=new&status=contacted).
    status = django_filters.MultipleChoiceFilter(
        choices=[("open", "All open"), *Lead.Status.choices],
        method="filter_status",
        widget=forms.SelectMultiple,
    )
    rate = django_filters.ChoiceFilter(choices=Lead.Rate.choices, empty_label="Any rate")
    owner = django_filters.ChoiceFilter(method="filter_owner", empty_label="Anyone")
    team = django_filters.ChoiceFilter(field_name="team_id", empty_label="Any team")
    source = django_filters.ChoiceFilter(field_name="source_id", empty_label="Any source")
    # Several tags at once (?tag=1&tag=2), matching any or all of them.
    tag = django_filters.MultipleChoiceFilter(method="filter_tags", label="Tags")
    tag_match = django_filters.ChoiceFilter(
        choices=TAG_MATCH_CHOICES, method="filter_nothing", label="Match", empty_label=None
    )
    idle = IntegerFilter(
        method="filter_idle",
        label="No activity for (days)",
        min_value=1,
        max_value=MAX_IDLE_DAYS,
    )
    created_after = django_filters.DateFilter(
        validators=[validate_date_bounds],
        method="filter_created_after",
        label="Created from",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    created_before = django_filters.DateFilter(
        validators=[validate_date_bounds],
        method="filter_created_before",
        label="Created until",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    due = django_filters.ChoiceFilter(
        choices=DUE_CHOICES, method="filter_due", label="Next action", empty_label="Any"
    )
    sla = django_filters.ChoiceFilter(
        choices=SLA_CHOICES, method="filter_sla", label="Response time", empty_label="Any"
    )
    # Scores (``leads.scoring``): never-scored leads match none of these.
    score_min = IntegerFilter(
        field_name="score_rank", lookup_expr="gte", label="Score from", min_value=0, max_value=100
    )
    score_max = IntegerFilter(
        field_name="score_rank", lookup_expr="lte", label="Score up to", min_value=0, max_value=100
    )
    score_band = django_filters.ChoiceFilter(
        choices=SCORE_BAND_CHOICES,
        method="filter_score_band",
        label="Score",
        empty_label="Any score",
    )
    # The leads an import created or updated (its report links here).
    import_batch = IntegerFilter(
        method="filter_import_batch",
        label="Import",
        min_value=1,
        max_value=2**63 - 1,
        widget=forms.HiddenInput,
    )

    class Meta:
        model = Lead
        fields: list[str] = []
        form = LeadFilterForm

    # Several values each; an empty one is "any" (the page's select sends status= when
    # nothing is chosen), not a choice to refuse.
    MULTIPLE = ("status", "tag")

    def __init__(
        self, data: Any = None, *args: Any, user: User, choices: Choices, **kwargs: Any
    ) -> None:
        if hasattr(data, "getlist") and any("" in data.getlist(name) for name in self.MULTIPLE):
            data = data.copy()
            for name in self.MULTIPLE:
                data.setlist(name, [value for value in data.getlist(name) if value != ""])
        super().__init__(data, *args, **kwargs)
        self.user = user
        fields = self.filters
        fields["owner"].extra["choices"] = [
            ("me", "Me"),
            ("none", "Unassigned"),
            *[(str(pk), label) for pk, label in choices.owners if pk != user.pk],
        ]
        fields["team"].extra["choices"] = [(str(pk), label) for pk, label in choices.teams]
        fields["source"].extra["choices"] = [(str(pk), label) for pk, label in choices.sources]
        fields["tag"].extra["choices"] = [(str(pk), label) for pk, label in choices.tags]

    @property
    def is_filtered(self) -> bool:
        return self.is_bound and any(
            self.form.cleaned_data.get(name)
            for name in self.filters
            if name != "tag_match" and self.form.is_valid()
        )

    def filter_search(self, queryset: LeadQuerySet, name: str, value: str) -> LeadQuerySet:
        if EMAIL.fullmatch(value):
            # A whole address: the email index answers at once, where the trigram index
            # would wade through the posting lists of ".COM" and friends.
            return queryset.filter(email=value.lower())
        digits = search_digits(value)
        if digits:
            text = Q(search__contains=digits)
        else:
            # Every word must match; words shorter than 3 letters can't use the trigram index.
            words = [word for word in value.upper().split() if len(word) >= 3] or [value.upper()]
            text = Q()
            for word in words:
                text &= Q(search__contains=word)
        numbers = lead_number_candidates(value)
        # A lead number matches exactly, through the number's unique index (OR-ed with the
        # trigram index as a bitmap): the number is not part of the search column.
        return queryset.filter(Q(number__in=numbers) | text if numbers else text)

    def filter_tags(self, queryset: LeadQuerySet, name: str, value: list[str]) -> LeadQuerySet:
        tag_ids = sorted({int(pk) for pk in value})
        links = Lead.tags.through.objects.filter(lead_id=OuterRef("pk"))
        # EXISTS, not a join: no duplicate rows, so no DISTINCT to spoil the sort's index.
        if self.form.cleaned_data.get("tag_match") == "all":
            for tag_id in tag_ids:
                queryset = queryset.filter(Exists(links.filter(tag_id=tag_id)))
            return queryset
        return queryset.filter(Exists(links.filter(tag_id__in=tag_ids)))

    def filter_nothing(self, queryset: LeadQuerySet, name: str, value: str) -> LeadQuerySet:
        return queryset  # read by filter_tags

    def filter_idle(self, queryset: LeadQuerySet, name: str, value: int) -> LeadQuerySet:
        """Dormant leads: nobody has logged anything on them or changed them for ``value``
        days (open ones only: a closed lead is meant to be quiet)."""
        cutoff = timezone.now() - timedelta(days=value)
        return queryset.filter(status__in=Lead.OPEN_STATUSES, last_activity_at__lt=cutoff)

    def filter_status(self, queryset: LeadQuerySet, name: str, value: list[str]) -> LeadQuerySet:
        statuses = set(value)
        if "open" in statuses:
            statuses = (statuses - {"open"}) | set(Lead.OPEN_STATUSES)
        # A plain IN on one column; no DISTINCT, so the index can serve the ORDER BY.
        return queryset.filter(status__in=sorted(statuses))

    def filter_owner(self, queryset: LeadQuerySet, name: str, value: str) -> LeadQuerySet:
        if value == "me":
            return queryset.filter(owner=self.user)
        if value == "none":
            return queryset.filter(owner__isnull=True)
        return queryset.filter(owner_id=int(value))

    def filter_created_after(self, queryset: LeadQuerySet, name: str, value: Any) -> LeadQuerySet:
        return queryset.filter(created_at__gte=_start_of_day(value))

    def filter_created_before(self, queryset: LeadQuerySet, name: str, value: Any) -> LeadQuerySet:
        return queryset.filter(created_at__lt=_start_of_day(value + timedelta(days=1)))

    def filter_due(self, queryset: LeadQuerySet, name: str, value: str) -> LeadQuerySet:
        open_leads = queryset.filter(status__in=Lead.OPEN_STATUSES)
        if value == "overdue":
            return open_leads.filter(next_action_due__lt=timezone.now())
        if value == "today":
            today = timezone.localdate()
            return open_leads.filter(
                next_action_due__gte=_start_of_day(today),
                next_action_due__lt=_start_of_day(today + timedelta(days=1)),
            )
        return open_leads.filter(next_action_due__isnull=True)

    def filter_import_batch(self, queryset: LeadQuerySet, name: str, value: int) -> LeadQuerySet:
        from leads.imports.models import ImportedLead

        return queryset.filter(
            Exists(ImportedLead.objects.filter(batch_id=value, lead_id=OuterRef("pk")))
        )

    def filter_score_band(self, queryset: LeadQuerySet, name: str, value: str) -> LeadQuerySet:
        """The scores that suggest this rate, by the admin's thresholds (what the lead page
        suggests, so the two always agree)."""
        hot, warm = score_bands()
        if value == "hot":
            return queryset.filter(score_rank__gte=hot)
        if value == "warm":
            return queryset.filter(score_rank__gte=warm, score_rank__lt=hot)
        return queryset.filter(score_rank__lt=warm)

    def filter_sla(self, queryset: LeadQuerySet, name: str, value: str) -> LeadQuerySet:
        # Each lead's own deadline (set when it arrived, on the response target's clock);
        # the partial index of waiting leads serves it.
        return queryset.filter(
            status=Lead.Status.NEW, first_contacted_at__isnull=True, sla_due_at__lt=timezone.now()
        )

    # --- For the dashboard's links (crm.dashboards): each of its numbers opens the list
    # behind it, so the steps and outcomes it counts are filters here too.
    reached = django_filters.ChoiceFilter(
        choices=[("contacted", "Contacted"), ("qualified", "Qualified")],
        method="filter_reached",
        label="Ever reached",
        empty_label="Any",
    )
    response = django_filters.ChoiceFilter(
        choices=[("within", "Within the target"), ("late", "After the target")],
        method="filter_response",
        label="First response",
        empty_label="Any",
    )
    lost_reason = django_filters.CharFilter(
        method="filter_lost_reason",
        label="Lost / unqualified reason",
        validators=[RegexValidator(r"^(none|[0-9]{1,18})$", "Choose a reason.")],
    )
    no_source = django_filters.ChoiceFilter(
        choices=[("1", "No source")], method="filter_no_source", label="Source", empty_label="Any"
    )

    def filter_reached(self, queryset: LeadQuerySet, name: str, value: str) -> LeadQuerySet:
        """Ever contacted / qualified, whatever the lead's status is now (the funnel)."""
        if value == "contacted":
            return queryset.filter(first_contacted_at__isnull=False)
        return queryset.filter(qualified_at__isnull=False)

    def filter_response(self, queryset: LeadQuerySet, name: str, value: str) -> LeadQuerySet:
        """Answered leads that had a contact-by deadline, answered by it or after it."""
        answered = queryset.filter(first_contacted_at__isnull=False, sla_due_at__isnull=False)
        if value == "within":
            return answered.filter(first_contacted_at__lte=F("sla_due_at"))
        return answered.filter(first_contacted_at__gt=F("sla_due_at"))

    def filter_lost_reason(self, queryset: LeadQuerySet, name: str, value: str) -> LeadQuerySet:
        if value == "none":
            return queryset.filter(lost_reason__isnull=True)
        return queryset.filter(lost_reason_id=int(value))

    def filter_no_source(self, queryset: LeadQuerySet, name: str, value: str) -> LeadQuerySet:
        return queryset.filter(source__isnull=True)


# One-click saved views: (key, label, query string).
SAVED_VIEWS = [
    ("mine", "My leads", "owner=me"),
    ("unassigned", "Unassigned", "owner=none"),
    ("overdue", "Overdue", "due=overdue&sort=due"),
    ("no_action", "No next action", "due=missing"),
    ("sla", "New, not contacted in time", "sla=breached&sort=created"),
    ("dormant", "No activity in 30 days", "idle=30&sort=idle"),
]
