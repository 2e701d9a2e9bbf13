"""Re-install the summary trigger function: it now joins a statement's old and new rows by
hash, not by a nested loop (quadratic on big bulk updates)."""

from django.db import migrations

from crm.dashboards.services import trigger_sql


class Migration(migrations.Migration):
    dependencies = [("dashboards", "0003_add_leadreasonday_team_day_idx")]

    operations = [migrations.RunSQL(trigger_sql(), migrations.RunSQL.noop)]
