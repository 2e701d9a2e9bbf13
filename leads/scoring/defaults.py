"""The scoring rules a new installation starts with (migration 0015 installs a frozen copy;
``install_default_rules`` puts them back, e.g. for a test database flushed of them).

Fit and engagement together can pass 100 (the score is clamped); a lead that answers every
fit question and is actively worked is Hot, a bare name with an email is Cold."""

from __future__ import annotations

from typing import Any

DECISION_MAKER_WORDS = [
    "CEO",
    "CTO",
    "CFO",
    "COO",
    "CMO",
    "CIO",
    "Chief",
    "Founder",
    "Co-founder",
    "Owner",
    "President",
    "VP",
    "Director",
    "Head",
    "Partner",
]

DEFAULT_RULES: list[dict[str, Any]] = [
    {"name": "Has a company", "condition": "has_company", "points": 10},
    {
        "name": "Decision-maker job title",
        "condition": "title_words",
        "points": 15,
        "title_words": DECISION_MAKER_WORDS,
    },
    {"name": "Budget stated", "condition": "budget_stated", "points": 15},
    {"name": "Talking to the decision maker", "condition": "authority_confirmed", "points": 15},
    {"name": "Need described", "condition": "need_described", "points": 10},
    {
        "name": "Buying within 90 days",
        "condition": "timeline_within",
        "points": 10,
        "number": 90,
    },
    {"name": "Came by referral", "condition": "source_in", "points": 10, "sources": ["Referral"]},
    # Shipped switched off: which countries are a fit is each team's own answer.
    {
        "name": "In our territory",
        "condition": "country_in",
        "points": 5,
        "is_active": False,
    },
    {"name": "Worked on", "condition": "activities_logged", "points": 5, "number": 1},
    {
        "name": "Worked on three times or more",
        "condition": "activities_logged",
        "points": 5,
        "number": 3,
    },
    {"name": "Replied by email", "condition": "replies_received", "points": 10, "number": 1},
    {
        "name": "Came back through a web form",
        "condition": "web_form_resubmitted",
        "points": 10,
        "number": 1,
    },
    {
        "name": "Activity in the last 14 days",
        "condition": "recent_activity",
        "points": 10,
        "number": 14,
    },
]


def install_rules(ScoringRule: Any, Source: Any, rules: list[dict[str, Any]]) -> None:
    """Create the rules not there yet (by name), so running it twice adds nothing."""
    for position, rule in enumerate(rules):
        data = {key: value for key, value in rule.items() if key not in ("name", "sources")}
        found, created = ScoringRule.objects.get_or_create(
            name=rule["name"], defaults={**data, "position": position * 10}
        )
        if created and rule.get("sources"):
            found.sources.set(Source.objects.filter(name__in=rule["sources"]))


def install_default_rules() -> None:
    from leads.models import ScoringRule, Source

    install_rules(ScoringRule, Source, DEFAULT_RULES)
