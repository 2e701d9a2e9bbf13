"""Tasks and email templates move from ``leads`` to ``followups``, data and all."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

MOVED = ["task", "emailtemplate"]


def _relabel(apps, schema_editor, source, target):
    """Keep the content type rows (and so the permissions, audit events and notifications
    that point at them) and only change their app label."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in MOVED:
        if not ContentType.objects.filter(app_label=target, model=model).exists():
            ContentType.objects.filter(app_label=source, model=model).update(app_label=target)


def move_content_types(apps, schema_editor):
    _relabel(apps, schema_editor, "leads", "followups")


def move_content_types_back(apps, schema_editor):
    _relabel(apps, schema_editor, "followups", "leads")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("accounts", "0002_add_digest_preferences"),
        ("deals", "0004_add_closed_totals_index"),
        ("leads", "0005_default_templates_and_sla_backfill"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # The tables stay where they are (``leads_task``, ``leads_emailtemplate``): only
        # Django's idea of which app owns them changes.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="EmailTemplate",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("name", models.CharField(max_length=100)),
                        ("subject", models.CharField(max_length=200)),
                        (
                            "body",
                            models.TextField(
                                help_text="Placeholders such as {{ lead.first_name }} and {{ sender.full_name }}."
                            ),
                        ),
                        ("is_active", models.BooleanField(default=True)),
                        (
                            "created_at",
                            models.DateTimeField(default=django.utils.timezone.now, editable=False),
                        ),
                        (
                            "updated_at",
                            models.DateTimeField(default=django.utils.timezone.now, editable=False),
                        ),
                        (
                            "owner",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="email_templates",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "team",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="email_templates",
                                to="accounts.team",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "leads_emailtemplate",
                        "ordering": ["name", "id"],
                        "constraints": [
                            models.CheckConstraint(
                                condition=models.Q(
                                    ("team__isnull", True), ("owner__isnull", True), _connector="OR"
                                ),
                                name="emailtemplate_team_or_owner",
                                violation_error_message="A template is a team's or a person's, not both.",
                            )
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="Task",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("title", models.CharField(max_length=200)),
                        (
                            "kind",
                            models.CharField(
                                choices=[
                                    ("call", "Call"),
                                    ("email", "Email"),
                                    ("meeting", "Meeting"),
                                    ("todo", "To-do"),
                                ],
                                default="todo",
                                max_length=10,
                            ),
                        ),
                        ("due_at", models.DateTimeField(verbose_name="due")),
                        ("notes", models.TextField(blank=True)),
                        (
                            "remind_before",
                            models.PositiveIntegerField(
                                blank=True,
                                default=0,
                                help_text="Minutes before the due time; leave empty for no reminder.",
                                null=True,
                                verbose_name="reminder",
                            ),
                        ),
                        ("remind_at", models.DateTimeField(blank=True, editable=False, null=True)),
                        (
                            "reminder_state",
                            models.CharField(
                                choices=[
                                    ("none", "No reminder"),
                                    ("scheduled", "Scheduled"),
                                    ("sent", "Sent"),
                                    ("canceled", "Not needed (done first)"),
                                ],
                                default="none",
                                editable=False,
                                max_length=10,
                            ),
                        ),
                        ("done_at", models.DateTimeField(blank=True, editable=False, null=True)),
                        (
                            "created_at",
                            models.DateTimeField(default=django.utils.timezone.now, editable=False),
                        ),
                        (
                            "updated_at",
                            models.DateTimeField(default=django.utils.timezone.now, editable=False),
                        ),
                        ("version", models.PositiveIntegerField(default=1, editable=False)),
                        (
                            "assignee",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="tasks",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "created_by",
                            models.ForeignKey(
                                blank=True,
                                db_index=False,
                                editable=False,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "deal",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="tasks",
                                to="deals.deal",
                            ),
                        ),
                        (
                            "done_by",
                            models.ForeignKey(
                                blank=True,
                                db_index=False,
                                editable=False,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "lead",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="tasks",
                                to="leads.lead",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "leads_task",
                        "ordering": ["due_at", "id"],
                        "indexes": [
                            models.Index(
                                fields=["assignee", "due_at", "id"], name="task_assignee_due_idx"
                            ),
                            models.Index(
                                condition=models.Q(("done_at__isnull", True)),
                                fields=["assignee", "due_at", "id"],
                                name="task_assignee_open_idx",
                            ),
                            models.Index(
                                fields=["assignee", "-done_at"], name="task_assignee_done_idx"
                            ),
                            models.Index(fields=["lead", "due_at"], name="task_lead_idx"),
                            models.Index(fields=["deal", "due_at"], name="task_deal_idx"),
                            models.Index(
                                condition=models.Q(("reminder_state", "scheduled")),
                                fields=["remind_at", "id"],
                                name="task_reminder_due_idx",
                            ),
                        ],
                        "constraints": [
                            models.CheckConstraint(
                                condition=models.Q(("title", ""), _negated=True),
                                name="task_title_set",
                            ),
                            models.CheckConstraint(
                                condition=models.Q(
                                    ("kind__in", ["call", "email", "meeting", "todo"])
                                ),
                                name="task_kind_valid",
                            ),
                            models.CheckConstraint(
                                condition=models.Q(
                                    ("lead__isnull", True), ("deal__isnull", True), _connector="OR"
                                ),
                                name="task_one_record",
                                violation_error_message="A task belongs to a lead or a deal, not both.",
                            ),
                            models.CheckConstraint(
                                condition=models.Q(
                                    (
                                        "reminder_state__in",
                                        ["none", "scheduled", "sent", "canceled"],
                                    )
                                ),
                                name="task_reminder_state_valid",
                            ),
                            models.CheckConstraint(
                                condition=models.Q(
                                    models.Q(("reminder_state", "scheduled"), _negated=True),
                                    ("remind_at__isnull", False),
                                    _connector="OR",
                                ),
                                name="task_scheduled_reminder_has_time",
                            ),
                        ],
                    },
                ),
            ],
        ),
        migrations.RunPython(move_content_types, move_content_types_back, elidable=False),
    ]
