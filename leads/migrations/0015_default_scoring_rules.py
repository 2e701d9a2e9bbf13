from django.db import migrations

# A frozen copy of leads.scoring.defaults at the time of this migration.
WORDS = [
    "CEO", "CTO", "CFO", "COO", "CMO", "CIO", "Chief", "Founder", "Co-founder", "Owner",
    "President", "VP", "Director", "Head", "Partner",
]  # fmt: skip
RULES = [
    {"name": "Has a company", "condition": "has_company", "points": 10},
    {"name": "Decision-maker job title", "condition": "title_words", "points": 15, "title_words": WORDS},
    {"name": "Budget stated", "condition": "budget_stated", "points": 15},
    {"name": "Talking to the decision maker", "condition": "authority_confirmed", "points": 15},
    {"name": "Need described", "condition": "need_described", "points": 10},
    {"name": "Buying within 90 days", "condition": "timeline_within", "points": 10, "number": 90},
    {"name": "Came by referral", "condition": "source_in", "points": 10, "sources": ["Referral"]},
    {"name": "In our territory", "condition": "country_in", "points": 5, "is_active": False},
    {"name": "Worked on", "condition": "activities_logged", "points": 5, "number": 1},
    {"name": "Worked on three times or more", "condition": "activities_logged", "points": 5, "number": 3},
    {"name": "Replied by email", "condition": "replies_received", "points": 10, "number": 1},
    {"name": "Came back through a web form", "condition": "web_form_resubmitted", "points": 10, "number": 1},
    {"name": "Activity in the last 14 days", "condition": "recent_activity", "points": 10, "number": 14},
]  # fmt: skip


def add_rules(apps, schema_editor):
    ScoringRule = apps.get_model("leads", "ScoringRule")
    Source = apps.get_model("leads", "Source")
    for position, rule in enumerate(RULES):
        data = {key: value for key, value in rule.items() if key not in ("name", "sources")}
        found, created = ScoringRule.objects.get_or_create(
            name=rule["name"], defaults={**data, "position": position * 10}
        )
        if created and rule.get("sources"):
            found.sources.set(Source.objects.filter(name__in=rule["sources"]))


class Migration(migrations.Migration):
    dependencies = [("leads", "0014_add_lead_scoring")]

    operations = [migrations.RunPython(add_rules, migrations.RunPython.noop)]
