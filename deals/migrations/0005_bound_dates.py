"""Dates a user sets are kept between 1900 and 2200 (crm.validators) and phone numbers to
E.164's 15 digits. Stored dates outside the bounds are first moved to their nearest end,
so adding the check constraints cannot fail on real data."""

import datetime

from django.conf import settings
from django.db import migrations, models

import crm.validators
import leads.phones

CLAMP = """
UPDATE deals_deal SET expected_close_date = LEAST(GREATEST(expected_close_date, '1900-01-01'::date), '2200-12-31'::date)
WHERE expected_close_date < '1900-01-01'::date OR expected_close_date > '2200-12-31'::date;
UPDATE deals_deal SET next_action_due = LEAST(GREATEST(next_action_due, '1900-01-01 00:00:00+00'::timestamptz), '2200-12-31 23:59:59+00'::timestamptz)
WHERE next_action_due < '1900-01-01 00:00:00+00'::timestamptz OR next_action_due > '2200-12-31 23:59:59+00'::timestamptz;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_add_digest_preferences"),
        ("deals", "0004_add_closed_totals_index"),
        ("leads", "0009_bound_dates"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # Deferred foreign-key checks are settled first: ALTER TABLE refuses to run while
        # the UPDATE's trigger events are pending.
        migrations.RunSQL("SET CONSTRAINTS ALL IMMEDIATE;\n" + CLAMP, migrations.RunSQL.noop),
        migrations.AlterField(
            model_name="contact",
            name="phone",
            field=models.CharField(
                blank=True, max_length=40, validators=[leads.phones.validate_phone]
            ),
        ),
        migrations.AlterField(
            model_name="deal",
            name="expected_close_date",
            field=models.DateField(
                blank=True, null=True, validators=[crm.validators.validate_date_bounds]
            ),
        ),
        migrations.AlterField(
            model_name="deal",
            name="next_action_due",
            field=models.DateTimeField(
                blank=True, null=True, validators=[crm.validators.validate_date_bounds]
            ),
        ),
        migrations.AddConstraint(
            model_name="deal",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(
                        ("expected_close_date__gte", datetime.date(1900, 1, 1)),
                        ("expected_close_date__lte", datetime.date(2200, 12, 31)),
                    ),
                    ("expected_close_date__isnull", True),
                    _connector="OR",
                ),
                name="deal_expected_close_date_in_bounds",
                violation_error_message="Enter a date between 1900 and 2200.",
            ),
        ),
        migrations.AddConstraint(
            model_name="deal",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(
                        (
                            "next_action_due__gte",
                            datetime.datetime(1900, 1, 1, 0, 0, tzinfo=datetime.UTC),
                        ),
                        (
                            "next_action_due__lte",
                            datetime.datetime(2200, 12, 31, 23, 59, 59, tzinfo=datetime.UTC),
                        ),
                    ),
                    ("next_action_due__isnull", True),
                    _connector="OR",
                ),
                name="deal_next_action_due_in_bounds",
                violation_error_message="Enter a date between 1900 and 2200.",
            ),
        ),
    ]
