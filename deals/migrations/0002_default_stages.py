from django.db import migrations

# name, probability, kind
STAGES = [
    ("Meeting set", 20, "open"),
    ("Proposal sent", 50, "open"),
    ("Negotiation", 75, "open"),
    ("Won", 100, "won"),
    ("Lost", 0, "lost"),
]


def add_stages(apps, schema_editor):
    Stage = apps.get_model("deals", "Stage")
    for position, (name, probability, kind) in enumerate(STAGES):
        Stage.objects.get_or_create(
            name=name, defaults={"position": position, "probability": probability, "kind": kind}
        )


class Migration(migrations.Migration):
    dependencies = [("deals", "0001_initial")]

    operations = [migrations.RunPython(add_stages, migrations.RunPython.noop)]
