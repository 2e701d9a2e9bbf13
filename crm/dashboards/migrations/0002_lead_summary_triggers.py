"""Install the summary triggers and fill the tables from the leads already there.

The SQL is this migration's own (``_summary_v1``), frozen when the summary changed again,
so that a fresh database runs the same steps an old one did."""

from django.db import migrations

from crm.dashboards.migrations._summary_v1 import FILL, TRIGGER, with_zone

DROP_SQL = """
DROP TRIGGER IF EXISTS dashboards_lead_summary_ins ON leads_lead;
DROP TRIGGER IF EXISTS dashboards_lead_summary_upd ON leads_lead;
DROP TRIGGER IF EXISTS dashboards_lead_summary_del ON leads_lead;
DROP FUNCTION IF EXISTS dashboards_lead_summary();
"""


def install(apps, schema_editor):  # type: ignore[no-untyped-def]
    schema_editor.execute(with_zone(TRIGGER), params=None)
    schema_editor.execute(with_zone(FILL), params=None)


def remove(apps, schema_editor):  # type: ignore[no-untyped-def]
    schema_editor.execute(DROP_SQL, params=None)


class Migration(migrations.Migration):
    dependencies = [("dashboards", "0001_lead_summary"), ("leads", "0013_add_lead_company_key_idx")]

    operations = [migrations.RunPython(install, remove)]
