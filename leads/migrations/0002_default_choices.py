from django.db import migrations

SOURCES = [
    "Web form",
    "Email",
    "Referral",
    "Cold call",
    "Campaign",
    "Social",
    "Event",
    "Import",
    "Manual",
]
LOST_REASONS = [
    "No budget",
    "Chose a competitor",
    "No response",
    "Bad timing",
    "Not a fit",
    "No decision maker",
    "Duplicate",
]
TAGS = ["Not now", "Budget issue", "Reconnect in Q3", "Referral", "Partner", "Priority"]


def add_defaults(apps, schema_editor):
    Source = apps.get_model("leads", "Source")
    LostReason = apps.get_model("leads", "LostReason")
    Tag = apps.get_model("leads", "Tag")
    for position, name in enumerate(SOURCES):
        Source.objects.get_or_create(name=name, defaults={"position": position})
    for position, name in enumerate(LOST_REASONS):
        LostReason.objects.get_or_create(name=name, defaults={"position": position})
    for name in TAGS:
        if not Tag.objects.filter(name__iexact=name).exists():
            Tag.objects.create(name=name)


class Migration(migrations.Migration):
    dependencies = [("leads", "0001_initial")]

    operations = [migrations.RunPython(add_defaults, migrations.RunPython.noop)]
