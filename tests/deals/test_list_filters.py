"""The deal list's filters the dashboard links to, and what a bad value does: a message
beside the filters and no deals, never every deal and never a 500."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from django.urls import reverse

from accounts.models import User
from deals import filters, services
from deals.models import Deal, Stage
from leads.models import LostReason, Source
from tests.deals.helpers import ensure_stages, make_deal

pytestmark = pytest.mark.django_db


def get(client: Any, user: User, **params: Any) -> Any:
    client.force_login(user)
    response = client.get(reverse("deals:list"), params)
    assert response.status_code == 200
    return response


def titles(response: Any) -> set[str]:
    return {deal.title for deal in response.context["page"].rows}


def lose(deal: Deal, actor: User, when: datetime, reason: LostReason) -> Deal:
    with time_machine.travel(when, tick=False):
        return services.deal_move_stage(
            deal=deal, actor=actor, stage=ensure_stages()["Lost"], lost_reason=reason
        )


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"closed_from": "2026-02-30"}, "Enter a valid date."),
        ({"closed_to": "0001-01-01"}, "Enter a date between 1900 and 2200."),
        ({"closed_from": "2026-03-10", "closed_to": "2026-03-01"}, filters.CLOSED_RANGE_BACKWARDS),
        ({"close_month": "2026-13"}, filters.BAD_MONTH),
        ({"close_month": "9999-12"}, filters.BAD_MONTH),
        ({"close_month": "March"}, filters.BAD_MONTH),
        ({"currency": "EU1"}, filters.BAD_CURRENCY),
        ({"owner": "abc"}, "Select a valid choice."),
        ({"owner": "9" * 25}, "Select a valid choice."),
        ({"source": "-1"}, "Select a valid choice."),
        ({"lost_reason": "x"}, "Select a valid choice."),
        ({"stage": "0"}, "Select a valid choice."),
        ({"state": "maybe"}, "Select a valid choice."),
        ({"no_close_date": "2"}, "Select a valid choice."),
    ],
)
def test_a_bad_value_is_a_message_and_no_deals(
    client: Any, rep: User, params: dict[str, str], message: str
) -> None:
    make_deal(rep)
    response = get(client, rep, **params)
    assert response.context["total"] == 0
    assert response.context["filter"].errors
    assert message in response.content.decode()
    # The same in the htmx partial the filter form swaps in.
    htmx = client.get(reverse("deals:list"), params, headers={"HX-Request": "true"})
    assert htmx.status_code == 200
    assert message in htmx.content.decode()


def test_closed_range_is_inclusive_local_dates(client: Any, rep: User, reason: LostReason) -> None:
    rep.timezone = "America/New_York"
    rep.save(update_fields=["timezone"])
    early = lose(
        make_deal(rep, company="Early"), rep, datetime(2026, 3, 1, 4, 30, tzinfo=UTC), reason
    )
    late = lose(
        make_deal(rep, company="Late"), rep, datetime(2026, 4, 1, 3, 30, tzinfo=UTC), reason
    )
    after = lose(
        make_deal(rep, company="After"), rep, datetime(2026, 4, 1, 4, 30, tzinfo=UTC), reason
    )
    # New York: early closed Feb 28 23:30, late Mar 31 23:30, after Apr 1 00:30 (EDT).
    march = get(client, rep, closed_from="2026-03-01", closed_to="2026-03-31")
    assert titles(march) == {late.title}
    assert titles(get(client, rep, closed_to="2026-02-28")) == {early.title}
    assert titles(get(client, rep, closed_from="2026-04-01")) == {after.title}
    assert titles(get(client, rep, closed_to="2200-12-31")) == {
        early.title,
        late.title,
        after.title,
    }
    assert get(client, rep, closed_from="2026-03-01").context["total"] == 2


def test_state_closed_owner_none_source_reason_currency_and_undated(
    client: Any, rep: User, manager: User, reason: LostReason
) -> None:
    web = Source.objects.get_or_create(name="Web form")[0]
    stages = ensure_stages()
    sourced = make_deal(rep, company="Sourced", source=web)
    euro = make_deal(rep, company="Euro")
    services.deal_update(deal=euro, actor=rep, expected_version=None, currency="eur")
    won = services.deal_move_stage(
        deal=make_deal(rep, company="Won"), actor=rep, stage=stages["Won"]
    )
    lost = lose(make_deal(rep, company="Lost"), rep, datetime.now(UTC), reason)
    unowned = make_deal(rep, company="Unowned")
    Deal.objects.filter(pk=unowned.pk).update(owner=None, team=None)
    assert titles(get(client, manager, state="closed")) == {won.title, lost.title}
    assert titles(get(client, manager, owner="none")) == {unowned.title}
    assert titles(get(client, manager, source=web.pk)) == {sourced.title}
    assert titles(get(client, manager, lost_reason=reason.pk)) == {lost.title}
    assert titles(get(client, manager, currency="EUR")) == {euro.title}
    assert titles(get(client, manager, currency="eur")) == {euro.title}
    open_titles = {sourced.title, euro.title, unowned.title}
    assert titles(get(client, manager, state="open", no_close_date="1")) == open_titles
    assert won.stage.kind == Stage.Kind.WON


def test_every_filter_at_once_keeps_the_query_count(
    client: Any, rep: User, manager: User, reason: LostReason, django_assert_max_num_queries: Any
) -> None:
    for i in range(3):
        make_deal(rep, company=f"Co {i}")
    client.force_login(manager)
    params = {
        "state": "closed",
        "closed_from": "2026-01-01",
        "closed_to": "2026-12-31",
        "owner": rep.pk,
        "source": Source.objects.get_or_create(name="Web form")[0].pk,
        "lost_reason": reason.pk,
        "currency": "EUR",
        "stage": ensure_stages()["Lost"].pk,
        "close_month": "2026-05",
        "no_close_date": "1",
    }
    with django_assert_max_num_queries(10):
        assert client.get(reverse("deals:list"), params).status_code == 200
