"""The follow-up records: tasks (with their reminder state) and email templates.

Both tables were created by the ``leads`` app and keep their names (``leads_task``,
``leads_emailtemplate``); migration 0001 moved them here without touching the data."""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.timezone import now

from accounts.models import Scope, Team, User, access_scope, managed_scope_of
from crm.validators import DATE_OUT_OF_RANGE, date_bounds, validate_date_bounds


class TaskQuerySet(models.QuerySet["Task"]):
    def visible_to(self, user: Any) -> TaskQuerySet:
        """The one row-level rule for tasks: a rep sees the tasks assigned to them, a
        manager those of the people in the teams they manage, an admin all of them.
        (Who may see whom is ``User.objects.visible_to``'s rule, applied to the assignee.)"""
        if not isinstance(user, User) or not user.is_active:
            return self.none()
        scope = access_scope(user)
        if scope == Scope.ALL:
            return self.all()
        if scope == Scope.TEAM:
            return self.filter(assignee_id__in=managed_scope_of(user)[1])
        return self.filter(assignee_id=user.pk)

    def open(self) -> TaskQuerySet:
        return self.filter(done_at__isnull=True)

    def for_list(self) -> TaskQuerySet:
        return self.select_related("assignee", "lead", "deal")


class Task(models.Model):
    """A follow-up someone has to do by a given time, on a lead or a deal (or neither: a
    plain to-do). Its reminder is emailed and shown under the bell, exactly once."""

    class Kind(models.TextChoices):
        CALL = "call", "Call"
        EMAIL = "email", "Email"
        MEETING = "meeting", "Meeting"
        TODO = "todo", "To-do"

    class Reminder(models.TextChoices):
        NONE = "none", "No reminder"
        SCHEDULED = "scheduled", "Scheduled"
        SENT = "sent", "Sent"
        CANCELED = "canceled", "Not needed (done first)"

    # Kinds whose outcome can be logged on the lead's timeline when the task is done.
    CONTACT_KINDS: ClassVar[list[str]] = ["call", "email", "meeting"]

    title = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.TODO)
    due_at = models.DateTimeField("due", validators=[validate_date_bounds])
    assignee = models.ForeignKey(User, on_delete=models.PROTECT, related_name="tasks")
    lead = models.ForeignKey(
        "leads.Lead", null=True, blank=True, on_delete=models.CASCADE, related_name="tasks"
    )
    deal = models.ForeignKey(
        "deals.Deal", null=True, blank=True, on_delete=models.CASCADE, related_name="tasks"
    )
    notes = models.TextField(blank=True)
    # Minutes before the due time to remind the assignee; empty means no reminder.
    remind_before = models.PositiveIntegerField(
        "reminder",
        null=True,
        blank=True,
        default=0,
        help_text="Minutes before the due time; leave empty for no reminder.",
    )
    remind_at = models.DateTimeField(null=True, blank=True, editable=False)
    reminder_state = models.CharField(
        max_length=10, choices=Reminder.choices, default=Reminder.NONE, editable=False
    )
    done_at = models.DateTimeField(null=True, blank=True, editable=False)
    done_by = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        editable=False,
    )
    created_by = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        editable=False,
    )
    created_at = models.DateTimeField(default=now, editable=False)
    updated_at = models.DateTimeField(default=now, editable=False)
    version = models.PositiveIntegerField(default=1, editable=False)

    objects = TaskQuerySet.as_manager()

    class Meta:
        db_table = "leads_task"
        ordering = ["due_at", "id"]
        indexes = [
            models.Index(fields=["assignee", "due_at", "id"], name="task_assignee_due_idx"),
            models.Index(
                fields=["assignee", "due_at", "id"],
                name="task_assignee_open_idx",
                condition=Q(done_at__isnull=True),
            ),
            models.Index(fields=["assignee", "-done_at"], name="task_assignee_done_idx"),
            models.Index(fields=["lead", "due_at"], name="task_lead_idx"),
            models.Index(fields=["deal", "due_at"], name="task_deal_idx"),
            # The reminder scan reads only what is still to be sent.
            models.Index(
                fields=["remind_at", "id"],
                name="task_reminder_due_idx",
                condition=Q(reminder_state="scheduled"),
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(title=""), name="task_title_set"),
            models.CheckConstraint(
                condition=date_bounds("due_at"),
                name="task_due_at_in_bounds",
                violation_error_message=DATE_OUT_OF_RANGE,
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["call", "email", "meeting", "todo"]), name="task_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(lead__isnull=True) | Q(deal__isnull=True),
                name="task_one_record",
                violation_error_message="A task belongs to a lead or a deal, not both.",
            ),
            models.CheckConstraint(
                condition=Q(reminder_state__in=["none", "scheduled", "sent", "canceled"]),
                name="task_reminder_state_valid",
            ),
            models.CheckConstraint(
                condition=~Q(reminder_state="scheduled") | Q(remind_at__isnull=False),
                name="task_scheduled_reminder_has_time",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("tasks:detail", args=[self.pk])

    @property
    def record(self) -> Any:
        """The lead or deal this task is for, if any."""
        return self.lead or self.deal

    @property
    def is_done(self) -> bool:
        return self.done_at is not None

    @property
    def is_overdue(self) -> bool:
        return self.done_at is None and self.due_at < now()


class EmailTemplate(models.Model):
    """A reusable follow-up email. With no team and no owner it is everyone's; with a
    team, that team's (admin-managed); with an owner, that person's own."""

    name = models.CharField(max_length=100)
    subject = models.CharField(max_length=200)
    body = models.TextField(
        help_text="Placeholders such as {{ lead.first_name }} and {{ sender.full_name }}."
    )
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.CASCADE, related_name="email_templates"
    )
    owner = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.CASCADE, related_name="email_templates"
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=now, editable=False)
    updated_at = models.DateTimeField(default=now, editable=False)

    class Meta:
        db_table = "leads_emailtemplate"
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(team__isnull=True) | Q(owner__isnull=True),
                name="emailtemplate_team_or_owner",
                violation_error_message="A template is a team's or a person's, not both.",
            ),
        ]

    def __str__(self) -> str:
        return self.name
