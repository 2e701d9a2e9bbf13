from datetime import timedelta

from django.db import migrations
from django.db.models import F
from django.utils.timezone import now

FIRST_REPLY = """Hi {{ lead.first_name }},

Thanks for getting in touch with us.
I'm {{ sender.first_name }}, and I'll be your contact here.

Could you tell me a little more about what you need and when you would like to have it in
place? If it's easier to talk, reply with two or three times that suit you this week and
I'll send an invitation.

Best regards,
{{ sender.full_name }}
{{ sender.email }}"""

CHECK_IN = """Hi {{ lead.first_name }},

I wanted to check that our proposal reached you and to see whether any questions have come
up since.

If anything needs changing before you can take it further, scope, timing or pricing, tell
me and I'll adjust it. Otherwise, would a short call next week help to agree the next steps?

Best regards,
{{ sender.full_name }}
{{ sender.email }}"""

DEFAULTS = [
    ("First reply to a new inquiry", "Your inquiry: next steps", FIRST_REPLY),
    ("Check-in after a proposal", "Following up on our proposal", CHECK_IN),
]


def add_defaults(apps, schema_editor):
    EmailTemplate = apps.get_model("leads", "EmailTemplate")
    for name, subject, body in DEFAULTS:
        EmailTemplate.objects.get_or_create(
            name=name, team=None, owner=None, defaults={"subject": subject, "body": body}
        )


def backfill_response_times(apps, schema_editor):
    Lead = apps.get_model("leads", "Lead")
    Lead.objects.filter(first_contacted_at__isnull=False).update(
        first_response_time=F("first_contacted_at") - F("created_at")
    )
    # Leads already waiting keep the plain 24 h target; nobody is alerted about the past.
    waiting = Lead.objects.filter(status="new", first_contacted_at__isnull=True)
    waiting.update(sla_due_at=F("created_at") + timedelta(hours=24))
    waiting.filter(sla_due_at__lt=now()).update(sla_alerted_at=now(), sla_escalated_at=now())


class Migration(migrations.Migration):
    dependencies = [("leads", "0004_add_tasks_sla_and_email_templates")]

    operations = [
        migrations.RunPython(add_defaults, migrations.RunPython.noop),
        migrations.RunPython(backfill_response_times, migrations.RunPython.noop),
    ]
