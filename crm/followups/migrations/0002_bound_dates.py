"""Dates a user sets are kept between 1900 and 2200 (crm.validators) and phone numbers to
E.164's 15 digits. Stored dates outside the bounds are first moved to their nearest end,
so adding the check constraints cannot fail on real data."""

import datetime

from django.conf import settings
from django.db import migrations, models

import crm.validators

CLAMP = """
UPDATE leads_task SET due_at = LEAST(GREATEST(due_at, '1900-01-01 00:00:00+00'::timestamptz), '2200-12-31 23:59:59+00'::timestamptz)
WHERE due_at < '1900-01-01 00:00:00+00'::timestamptz OR due_at > '2200-12-31 23:59:59+00'::timestamptz;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("deals", "0005_bound_dates"),
        ("followups", "0001_move_tasks_and_templates_from_leads"),
        ("leads", "0009_bound_dates"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # Deferred foreign-key checks are settled first: ALTER TABLE refuses to run while
        # the UPDATE's trigger events are pending.
        migrations.RunSQL("SET CONSTRAINTS ALL IMMEDIATE;\n" + CLAMP, migrations.RunSQL.noop),
        migrations.AlterField(
            model_name="task",
            name="due_at",
            field=models.DateTimeField(
                validators=[crm.validators.validate_date_bounds], verbose_name="due"
            ),
        ),
        migrations.AddConstraint(
            model_name="task",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(
                        (
                            "due_at__gte",
                            datetime.datetime(1900, 1, 1, 0, 0, tzinfo=datetime.UTC),
                        ),
                        (
                            "due_at__lte",
                            datetime.datetime(2200, 12, 31, 23, 59, 59, tzinfo=datetime.UTC),
                        ),
                    ),
                    ("due_at__isnull", True),
                    _connector="OR",
                ),
                name="task_due_at_in_bounds",
                violation_error_message="Enter a date between 1900 and 2200.",
            ),
        ),
    ]
