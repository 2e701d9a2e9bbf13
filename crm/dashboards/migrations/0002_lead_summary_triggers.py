"""Install the summary triggers and fill the tables from the leads already there.

Uses the current code's SQL (``crm.dashboards.services``): a later change to the triggers
or to the summary's tables adds its own migration calling ``summary_rebuild`` again."""

from django.db import migrations

from crm.dashboards.services import DROP_SQL, trigger_sql


def fill(apps, schema_editor):  # type: ignore[no-untyped-def]
    from crm.dashboards.services import summary_rebuild

    summary_rebuild()


class Migration(migrations.Migration):
    dependencies = [("dashboards", "0001_lead_summary"), ("leads", "0013_add_lead_company_key_idx")]

    operations = [
        migrations.RunSQL(trigger_sql(), DROP_SQL),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
