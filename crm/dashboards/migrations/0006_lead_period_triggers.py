"""Install the trigger function that also keeps LeadPeriod, and fill it. (Its own
migration: 0005's unique constraint, the upserts' ON CONFLICT target, is created only at
the end of that migration.)"""

from django.db import migrations


def install(apps, schema_editor):  # type: ignore[no-untyped-def]
    """The trigger function now also keeps LeadPeriod; rebuild fills it (and the rest)."""
    from crm.dashboards.services import summary_rebuild

    summary_rebuild()


def uninstall(apps, schema_editor):  # type: ignore[no-untyped-def]
    """Back to the function that knows no LeadPeriod, before its table goes."""
    from crm.dashboards.migrations._summary_v1 import TRIGGER, with_zone

    schema_editor.execute(with_zone(TRIGGER), params=None)


class Migration(migrations.Migration):
    dependencies = [("dashboards", "0005_lead_period")]

    operations = [migrations.RunPython(install, uninstall)]
