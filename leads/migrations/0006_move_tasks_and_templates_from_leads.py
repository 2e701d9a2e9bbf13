"""Tasks and email templates now belong to ``followups`` (its migration 0001 takes them
over); only Django's state changes here, the tables and their rows stay."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0005_default_templates_and_sla_backfill"),
        ("followups", "0001_move_tasks_and_templates_from_leads"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="EmailTemplate"),
                migrations.DeleteModel(name="Task"),
            ],
        ),
    ]
