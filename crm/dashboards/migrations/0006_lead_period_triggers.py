"""Install the trigger function that also keeps LeadPeriod and LeadReasonMonth, and fill
them. (Its own migration: 0005's unique constraints, the upserts' ON CONFLICT targets, are
created only at the end of that migration.)"""

from django.db import migrations


def install(apps, schema_editor):  # type: ignore[no-untyped-def]
    """The trigger function now also keeps LeadPeriod and LeadReasonMonth; rebuild fills
    them (and the rest)."""
    from crm.dashboards.services import summary_rebuild

    summary_rebuild()


def uninstall(apps, schema_editor):  # type: ignore[no-untyped-def]
    """Back to the function that knows neither table, before they go."""
    from crm.dashboards.migrations._summary_v1 import TRIGGER, with_zone

    schema_editor.execute(with_zone(TRIGGER), params=None)


class Migration(migrations.Migration):
    dependencies = [("dashboards", "0005_lead_period")]

    operations = [migrations.RunPython(install, uninstall)]
