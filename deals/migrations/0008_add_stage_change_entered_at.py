"""Each stage change keeps when the deal entered the stage it left, for time in stage.

Backfilled from the history itself: the previous change of the same deal (by time, then
id); a move with no earlier row (history written before the first change was recorded)
falls back to the deal's creation."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("deals", "0007_add_contact_merge"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="dealstagechange",
            name="from_stage_entered_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.RunSQL(
            """
            UPDATE deals_dealstagechange AS c
            SET from_stage_entered_at = COALESCE(p.previous_at, d.created_at, c.changed_at)
            FROM (
                SELECT id, lag(changed_at) OVER (
                    PARTITION BY deal_id ORDER BY changed_at, id
                ) AS previous_at
                FROM deals_dealstagechange
            ) AS p, deals_deal AS d
            WHERE p.id = c.id AND d.id = c.deal_id AND c.from_stage_id IS NOT NULL
            """,
            migrations.RunSQL.noop,
        ),
        migrations.AddIndex(
            model_name="dealstagechange",
            index=models.Index(
                condition=models.Q(("from_stage_entered_at__isnull", False)),
                fields=["changed_at"],
                include=("deal", "from_stage", "from_stage_entered_at"),
                name="dealstage_left_idx",
            ),
        ),
        migrations.AddConstraint(
            model_name="dealstagechange",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("from_stage__isnull", True), ("from_stage_entered_at__isnull", True)),
                    models.Q(
                        ("from_stage__isnull", False), ("from_stage_entered_at__isnull", False)
                    ),
                    _connector="OR",
                ),
                name="dealstage_entered_with_from_stage",
            ),
        ),
    ]
