"""Re-install the summary trigger function: it now joins a statement's old and new rows by
hash, not by a nested loop (quadratic on big bulk updates). (0002 installs the same frozen
function, ``_summary_v1``, on a fresh database.)"""

from django.db import migrations

from crm.dashboards.migrations._summary_v1 import TRIGGER, with_zone


def install(apps, schema_editor):  # type: ignore[no-untyped-def]
    schema_editor.execute(with_zone(TRIGGER), params=None)


class Migration(migrations.Migration):
    dependencies = [("dashboards", "0003_add_leadreasonday_team_day_idx")]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
