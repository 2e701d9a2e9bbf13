"""The score on the lead page and the list: "—" for never scored, the one-click rate, the
score sorts (keyset, never-scored last) and filters."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from crm.models import AuditEvent
from crm.pagination import encode_cursor, keyset_page
from leads import services
from leads.models import Lead, LeadSettings, Source
from leads.scoring.services import rescore
from leads.selectors import LEAD_SORTS
from tests.factories import make_lead

pytestmark = pytest.mark.django_db


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def never_scored(lead: Lead) -> Lead:
    Lead.objects.filter(pk=lead.pk).update(scored_at=None, score=0, score_breakdown=[])
    lead.refresh_from_db()
    return lead


@pytest.fixture
def hot(rep: User) -> Lead:
    """75: company 10, CEO 15, budget 15, authority 15, need 10, recent 10."""
    return make_lead(
        rep,
        first_name="Hot",
        company="Acme",
        job_title="CEO",
        budget=Decimal("100"),
        authority="decision_maker",
        need="CRM",
    )


# --- The lead page ---------------------------------------------------------------------------


def test_detail_shows_breakdown_last_change_and_suggestion(rep: User, hot: Lead) -> None:
    page = client_for(rep).get(reverse("leads:detail", args=[hot.pk])).content.decode()
    assert '<span class="fs-4 fw-semibold" id="lead-score-value">75</span>' in page
    assert "<td>Budget stated</td>" in page
    assert "+15" in page
    assert "Last changed" in page
    assert 'id="lead-suggested-rate">Hot</span>' in page
    assert "Rate it Hot" in page


def test_never_scored_lead_shows_a_dash_not_zero(rep: User) -> None:
    lead = never_scored(make_lead(rep))
    client = client_for(rep)
    page = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert 'id="lead-score-value">—</span>' in page
    assert "Not scored yet" in page
    assert "Rate it" not in page
    rows = client.get(reverse("leads:list")).content.decode()
    assert '<td data-label="Score">—</td>' in rows
    assert '<td data-label="Score">0</td>' not in rows


def test_apply_rate_sets_it_with_history(rep: User, hot: Lead) -> None:
    response = client_for(rep).post(
        reverse("leads:apply_rate", args=[hot.pk]), {"version": hot.version}
    )
    assert response.status_code == 302
    hot.refresh_from_db()
    assert hot.rate == "hot"
    event = AuditEvent.objects.for_object(hot).order_by("-id").first()
    assert event is not None
    assert event.action == AuditEvent.Action.UPDATED
    assert event.changes == {"rate": ["", "Hot"]}
    assert event.note == "Suggested by its score of 75"
    # Rescoring afterwards leaves the rate alone, even when the score drops.
    services.lead_update(lead=hot, actor=rep, expected_version=hot.version, need="")
    hot.refresh_from_db()
    assert (hot.score, hot.rate) == (65, "hot")


@pytest.mark.parametrize("actor", ["rep_b", "other_manager"])
def test_apply_rate_on_a_lead_you_cannot_see_is_404(
    request: pytest.FixtureRequest, actor: str, hot: Lead
) -> None:
    client = client_for(request.getfixturevalue(actor))
    response = client.post(reverse("leads:apply_rate", args=[hot.pk]), {"version": hot.version})
    assert response.status_code == 404
    hot.refresh_from_db()
    assert hot.rate == ""


def test_apply_rate_refusals(rep: User, manager: User, hot: Lead) -> None:
    client = client_for(rep)
    url = reverse("leads:apply_rate", args=[hot.pk])
    assert client.get(url).status_code == 405
    # A stale page: someone changed the lead since.
    stale = hot.version
    services.lead_update(lead=hot, actor=manager, expected_version=hot.version, region="Bavaria")
    response = client.post(url, {"version": stale}, follow=True)
    assert services.CONFLICT in response.content.decode()
    response = client.post(url, {"version": "nope"}, follow=True)
    assert response.status_code == 200
    hot.refresh_from_db()
    assert hot.rate == ""
    unscored = never_scored(make_lead(rep))
    response = client.post(
        reverse("leads:apply_rate", args=[unscored.pk]), {"version": unscored.version}, follow=True
    )
    assert services.NEVER_SCORED in response.content.decode()
    assert (
        client.post(reverse("leads:apply_rate", args=[999999]), {"version": 1}).status_code == 404
    )


def test_manager_may_apply_on_their_teams_lead(manager: User, hot: Lead) -> None:
    response = client_for(manager).post(
        reverse("leads:apply_rate", args=[hot.pk]), {"version": hot.version}
    )
    assert response.status_code == 302
    hot.refresh_from_db()
    assert hot.rate == "hot"


# --- The list -------------------------------------------------------------------------------


@pytest.fixture
def scored(rep: User) -> dict[str, Lead]:
    """Scores 95 (a), 20, 20 (b, c) and 10 (d), and one never scored (e)."""
    leads = {
        "a": make_lead(
            rep,
            first_name="A",
            company="Acme",
            job_title="CEO",
            budget=Decimal("1"),
            authority="decision_maker",
            need="CRM",
            timeline="now",
            source=Source.objects.get(name="Referral"),
        ),
        "b": make_lead(rep, first_name="B", company="Beta"),
        "c": make_lead(rep, first_name="C", company="Gamma"),
        "d": make_lead(rep, first_name="D"),
        "e": never_scored(make_lead(rep, first_name="E", company="Delta")),
    }
    assert [leads[k].score for k in "abcd"] == [95, 20, 20, 10]
    return leads


def names(response: Any) -> list[str]:
    return [lead.first_name for lead in response.context["page"].rows]


def test_sort_by_score_both_ways_never_scored_last(rep: User, scored: dict[str, Lead]) -> None:
    client = client_for(rep)
    assert names(client.get(reverse("leads:list") + "?sort=-score")) == ["A", "C", "B", "D", "E"]
    assert names(client.get(reverse("leads:list") + "?sort=score")) == ["D", "B", "C", "A", "E"]


@pytest.mark.parametrize("key", ["-score", "score"])
def test_score_sorts_page_by_keyset(rep: User, scored: dict[str, Lead], key: str) -> None:
    queryset = Lead.objects.visible_to(rep).for_list()
    whole = keyset_page(queryset, sort_key=key, sorts=LEAD_SORTS, default_sort="-created")
    seen: list[int] = []
    after: str | None = None
    while True:
        page = keyset_page(
            queryset,
            sort_key=key,
            after=after,
            sorts=LEAD_SORTS,
            default_sort="-created",
            per_page=2,
        )
        seen += [row.pk for row in page.rows]
        if not page.has_next:
            break
        after = page.next_cursor
    assert seen == [row.pk for row in whole.rows]
    # Five rows, two a page: the last page came after the 4th row; back from it, the 2nd
    # and 3rd.
    assert len(seen) == 5
    back = keyset_page(
        queryset, sort_key=key, before=after, sorts=LEAD_SORTS, default_sort="-created", per_page=2
    )
    assert [row.pk for row in back.rows] == seen[1:3]


def test_score_cursor_through_the_view_and_a_forged_one(rep: User, scored: dict[str, Lead]) -> None:
    client = client_for(rep)
    cursor = encode_cursor([20, scored["c"].pk])
    assert names(client.get(reverse("leads:list") + f"?sort=-score&cursor={cursor}")) == [
        "B",
        "D",
        "E",
    ]
    forged = encode_cursor(["x'; drop", scored["c"].pk])
    response = client.get(reverse("leads:list") + f"?sort=-score&cursor={forged}")
    assert response.status_code == 200
    assert names(response) == ["A", "C", "B", "D", "E"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("score_min=20", ["A", "B", "C"]),
        ("score_max=20", ["B", "C", "D"]),
        ("score_min=15&score_max=25", ["B", "C"]),
        ("score_min=0", ["A", "B", "C", "D"]),
        ("score_band=hot", ["A"]),
        ("score_band=warm", []),
        ("score_band=cold", ["B", "C", "D"]),
    ],
)
def test_score_filters(rep: User, scored: dict[str, Lead], query: str, expected: list[str]) -> None:
    response = client_for(rep).get(reverse("leads:list") + f"?sort=name&{query}")
    assert sorted(names(response)) == expected


def test_score_band_follows_the_thresholds(rep: User, scored: dict[str, Lead]) -> None:
    LeadSettings.objects.filter(pk=1).update(score_hot_from=96, score_warm_from=15)
    client = client_for(rep)
    assert sorted(names(client.get(reverse("leads:list") + "?score_band=warm"))) == ["A", "B", "C"]
    assert names(client.get(reverse("leads:list") + "?score_band=hot")) == []


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("score_min=101", "less than or equal to 100"),
        ("score_max=-1", "greater than or equal to 0"),
        ("score_min=abc", "Enter a whole number"),
        ("score_min=60&score_max=20", "The lowest score must not be above the highest."),
        ("score_band=lukewarm", "Select a valid choice"),
    ],
)
def test_bad_score_filters_say_why(
    rep: User, scored: dict[str, Lead], query: str, message: str
) -> None:
    response = client_for(rep).get(reverse("leads:list") + f"?{query}")
    assert response.status_code == 200
    assert message in response.content.decode()


@pytest.mark.parametrize("rows", [2, 30])
def test_score_sorted_list_query_count_is_constant(
    django_assert_max_num_queries, rep: User, rows: int
) -> None:
    for i in range(rows):
        make_lead(rep, email=f"s{i}@example.com", company="Acme" if i % 2 else "")
    rescore(Lead.objects.values_list("pk", flat=True))
    client = client_for(rep)
    with django_assert_max_num_queries(11):
        assert client.get(reverse("leads:list") + "?sort=-score&score_band=cold").status_code == 200


def test_admin_sets_the_thresholds_and_refuses_warm_above_hot(admin: User) -> None:
    client = client_for(admin)
    url = reverse("admin:leads_leadsettings_change", args=[LeadSettings.current().pk])
    form = {"number_prefix": "L-", "number_width": "6", "reps_can_create_tags": "on"}
    bad = client.post(
        url, {**form, "score_hot_from": "40", "score_warm_from": "60", "score_decay_per_week": "5"}
    )
    assert bad.status_code == 200
    assert "Warm must start below Hot" in bad.content.decode()
    good = client.post(
        url, {**form, "score_hot_from": "80", "score_warm_from": "50", "score_decay_per_week": "2"}
    )
    assert good.status_code == 302
    assert LeadSettings.objects.values_list(
        "score_hot_from", "score_warm_from", "score_decay_per_week"
    ).get(pk=1) == (80, 50, 2)


def test_admin_edits_a_scoring_rule(admin: User, rep: User) -> None:
    from leads.models import ScoringRule

    rule = ScoringRule.objects.get(name="Decision-maker job title")
    client = client_for(admin)
    url = reverse("admin:leads_scoringrule_change", args=[rule.pk])
    assert "CEO, CTO" in client.get(url).content.decode()
    data = {
        "name": rule.name,
        "condition": "title_words",
        "points": "20",
        "number": "",
        "title_words": " Boss ,, Big  cheese ",
        "position": "10",
        "is_active": "on",
    }
    assert client.post(url, data).status_code == 302
    rule.refresh_from_db()
    assert (rule.points, rule.title_words) == (20, ["Boss", "Big cheese"])
    lead = make_lead(rep, job_title="The big cheese")
    assert [item["label"] for item in lead.score_breakdown] == [
        "Decision-maker job title",
        "Activity in the last 14 days",
    ]
    missing_n = client.post(url, {**data, "condition": "recent_activity"})
    assert missing_n.status_code == 200
    assert "This condition needs N." in missing_n.content.decode()
