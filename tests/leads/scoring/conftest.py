from __future__ import annotations

import pytest

from leads.models import LeadSettings, ScoringRule, Source
from leads.scoring.defaults import install_default_rules


@pytest.fixture(autouse=True)
def default_rules(db: None) -> None:
    """The shipped rules and thresholds, exactly (a flush after a transactional test wipes
    what the data migration made; a test that changes them starts from these again)."""
    Source.objects.get_or_create(name="Referral")
    ScoringRule.objects.all().delete()
    install_default_rules()
    LeadSettings.objects.update_or_create(
        pk=1, defaults={"score_hot_from": 70, "score_warm_from": 40, "score_decay_per_week": 5}
    )
