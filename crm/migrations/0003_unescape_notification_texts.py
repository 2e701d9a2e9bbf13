"""Notification titles, bodies and plain-text email parts were once stored HTML-escaped
(``Q&amp;A prep``): they are plain text, escaped where a page shows them. Unescape the
stored ones (the HTML part stays as it is: escaping is right there).

Only texts with an entity in them are touched; ``html.unescape`` of a text without one
is the text itself, so running this again changes nothing.
"""

import html

from django.db import migrations
from django.db.models import Q

ENTITIES = ["&amp;", "&lt;", "&gt;", "&quot;", "&#x27;", "&#39;"]
FIELDS = {"title": 200, "body": None, "email_subject": 255, "email_text": None}


def unescape_texts(apps, schema_editor):
    Notification = apps.get_model("crm", "Notification")
    escaped = Q()
    for entity in ENTITIES:
        for field in FIELDS:
            escaped |= Q(**{f"{field}__contains": entity})
    batch = []
    for row in Notification.objects.filter(escaped).only("pk", *FIELDS).iterator():
        for field, length in FIELDS.items():
            setattr(row, field, html.unescape(getattr(row, field))[:length])
        batch.append(row)
        if len(batch) == 1000:
            Notification.objects.bulk_update(batch, list(FIELDS))
            batch = []
    Notification.objects.bulk_update(batch, list(FIELDS))


class Migration(migrations.Migration):
    dependencies = [("crm", "0002_add_notification")]

    operations = [migrations.RunPython(unescape_texts, migrations.RunPython.noop, elidable=True)]
