"""Response targets in minutes, admin settings for lead numbers and tags, and each lead's
last activity (for "no activity in N days")."""

import django.core.validators
import django.db.models.functions.datetime
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

# The hours fields go after their values are copied (the reverse copies back, rounding up).
HOURS_TO_MINUTES = """
UPDATE leads_responsetarget
SET first_contact_minutes = first_contact_hours * 60,
    escalate_after_minutes = escalate_after_hours * 60;
"""
MINUTES_TO_HOURS = """
UPDATE leads_responsetarget
SET first_contact_hours = GREATEST(1, CEIL(first_contact_minutes / 60.0)),
    escalate_after_hours = CEIL(escalate_after_minutes / 60.0);
"""
# The latest of the last change and the last note; one index lookup per lead.
BACKFILL_ACTIVITY = """
UPDATE leads_lead AS lead
SET last_activity_at = GREATEST(
    lead.updated_at,
    (SELECT max(note.created_at) FROM leads_leadnote AS note WHERE note.lead_id = lead.id)
);
"""
# As in 0001, but the prefix and width come from the settings row (L- and 6 without one).
NUMBER_FROM_SETTINGS_SQL = """
CREATE OR REPLACE FUNCTION leads_next_lead_number() RETURNS varchar
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    n bigint;
    candidate varchar;
    prefix varchar;
    width integer;
BEGIN
    SELECT number_prefix, number_width INTO prefix, width FROM leads_leadsettings WHERE id = 1;
    IF NOT FOUND THEN
        prefix := 'L-';
        width := 6;
    END IF;
    LOOP
        n := nextval('leads_lead_number_seq');
        candidate := prefix || lpad(n::text, GREATEST(width, length(n::text)), '0');
        EXIT WHEN NOT EXISTS (SELECT 1 FROM leads_lead WHERE number = candidate);
    END LOOP;
    RETURN candidate;
END
$$;
"""
NUMBER_FIXED_SQL = """
CREATE OR REPLACE FUNCTION leads_next_lead_number() RETURNS varchar
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    n bigint;
    candidate varchar;
BEGIN
    LOOP
        n := nextval('leads_lead_number_seq');
        candidate := 'L-' || CASE WHEN n < 1000000 THEN lpad(n::text, 6, '0') ELSE n::text END;
        EXIT WHEN NOT EXISTS (SELECT 1 FROM leads_lead WHERE number = candidate);
    END LOOP;
    RETURN candidate;
END
$$;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_add_digest_preferences"),
        ("leads", "0006_move_tasks_and_templates_from_leads"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="LeadSettings",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "number_prefix",
                    models.CharField(
                        blank=True,
                        default="L-",
                        help_text="Put before each new lead's number, e.g. L- gives L-000123.",
                        max_length=8,
                        validators=[
                            django.core.validators.RegexValidator(
                                "^[A-Za-z0-9-]*$",
                                "Use letters, digits and hyphens only (e.g. L- or LEAD-).",
                            )
                        ],
                    ),
                ),
                (
                    "number_width",
                    models.PositiveSmallIntegerField(
                        default=6,
                        help_text="Digits, padded with zeros: 6 gives 000123. Larger numbers simply grow.",
                        validators=[
                            django.core.validators.MinValueValidator(1),
                            django.core.validators.MaxValueValidator(10),
                        ],
                    ),
                ),
                (
                    "reps_can_create_tags",
                    models.BooleanField(
                        default=True,
                        help_text="Untick to let only admins add new tags; everyone can still use them.",
                        verbose_name="everyone can create tags",
                    ),
                ),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={
                "verbose_name": "lead settings",
                "verbose_name_plural": "lead settings",
            },
        ),
        migrations.AddConstraint(
            model_name="leadsettings",
            constraint=models.CheckConstraint(
                condition=models.Q(("pk", 1)), name="leadsettings_single_row"
            ),
        ),
        migrations.AddConstraint(
            model_name="leadsettings",
            constraint=models.CheckConstraint(
                condition=models.Q(("number_width__gte", 1), ("number_width__lte", 10)),
                name="leadsettings_width_range",
            ),
        ),
        migrations.AddConstraint(
            model_name="leadsettings",
            constraint=models.CheckConstraint(
                condition=models.Q(("number_prefix__regex", "^[A-Za-z0-9-]*$")),
                name="leadsettings_prefix_chars",
            ),
        ),
        migrations.AddField(
            model_name="responsetarget",
            name="escalate_after_minutes",
            field=models.PositiveIntegerField(
                default=240, verbose_name="escalate to the manager after a further"
            ),
        ),
        migrations.AddField(
            model_name="responsetarget",
            name="first_contact_minutes",
            field=models.PositiveIntegerField(
                default=1440, verbose_name="contact new leads within"
            ),
        ),
        migrations.RunSQL(HOURS_TO_MINUTES, MINUTES_TO_HOURS),
        migrations.RemoveConstraint(
            model_name="responsetarget",
            name="responsetarget_hours_positive",
        ),
        migrations.RemoveField(
            model_name="responsetarget",
            name="escalate_after_hours",
        ),
        migrations.RemoveField(
            model_name="responsetarget",
            name="first_contact_hours",
        ),
        migrations.AddConstraint(
            model_name="responsetarget",
            constraint=models.CheckConstraint(
                condition=models.Q(("first_contact_minutes__gte", 1)),
                name="responsetarget_minutes_positive",
            ),
        ),
        migrations.AddField(
            model_name="lead",
            name="last_activity_at",
            field=models.DateTimeField(
                db_default=django.db.models.functions.datetime.Now(),
                default=django.utils.timezone.now,
                editable=False,
            ),
        ),
        migrations.RunSQL(BACKFILL_ACTIVITY, migrations.RunSQL.noop, elidable=True),
        migrations.AddIndex(
            model_name="lead",
            index=models.Index(fields=["last_activity_at", "id"], name="lead_last_activity_idx"),
        ),
        migrations.RunSQL(NUMBER_FROM_SETTINGS_SQL, NUMBER_FIXED_SQL),
    ]
