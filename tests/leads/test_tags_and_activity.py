"""Tags (picker, creating new ones, any/all filter), dormant leads ("no activity in N days")
and the admin's lead-number format."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from leads import services
from leads.models import Lead, LeadSettings, Tag
from tests.factories import PASSWORD, make_lead

pytestmark = pytest.mark.django_db


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def listed(client: Client, query: str) -> set[str]:
    response = client.get(reverse("leads:list") + query)
    assert response.status_code == 200
    return {lead.number for lead in response.context["page"].rows}


def restrict_tags() -> None:
    settings = LeadSettings.current()
    settings.reps_can_create_tags = False
    settings.save()


# --- Creating tags --------------------------------------------------------------------------


def test_new_tags_are_made_once_and_matched_ignoring_case(rep: User) -> None:
    Tag.objects.get_or_create(name="Referral")
    Tag.objects.filter(name__iexact="Reconnect in Q3").delete()
    existing = Tag.objects.count()
    lead = make_lead(rep, new_tags=["referral", "Reconnect in Q3", "reconnect  in q3"])
    assert sorted(lead.tags.values_list("name", flat=True)) == ["Reconnect in Q3", "Referral"]
    assert Tag.objects.count() == existing + 1
    services.lead_update(
        lead=lead, actor=rep, expected_version=lead.version, tags=None, new_tags=["Not now"]
    )
    assert sorted(lead.tags.values_list("name", flat=True)) == [
        "Not now",
        "Reconnect in Q3",
        "Referral",
    ]


def test_when_admins_restrict_tags_reps_pick_but_cannot_create(rep: User, admin: User) -> None:
    Tag.objects.get_or_create(name="Referral")
    Tag.objects.filter(name__iexact="Budget issue").delete()
    restrict_tags()
    assert not services.can_create_tags(rep)
    lead = make_lead(rep, new_tags=["REFERRAL"])  # an existing one is fine
    assert list(lead.tags.values_list("name", flat=True)) == ["Referral"]
    with pytest.raises(ValidationError) as refused:
        make_lead(rep, email="other@example.com", new_tags=["Budget issue"])
    assert refused.value.messages == [services.TAG_CREATE_NOT_ALLOWED.format(names="Budget issue")]
    assert not Lead.objects.filter(email="other@example.com").exists()  # nothing half-made
    assert services.can_create_tags(admin)
    assert make_lead(admin, email="a@example.com", new_tags=["Budget issue"]).tags.count() == 1


def test_the_form_offers_checkboxes_and_new_tags_only_where_allowed(rep: User) -> None:
    referral = Tag.objects.get_or_create(name="Referral")[0]
    client = client_for(rep)
    page = client.get(reverse("leads:create")).content.decode()
    checkbox = re.compile(rf'<input type="checkbox"[^>]*name="tags" value="{referral.pk}"')
    assert checkbox.search(page), page[page.find("tag-picker") :][:800]
    assert 'name="new_tags"' in page
    assert "data-tag-picker" in page
    assert "js/tag-picker.js" in page
    restrict_tags()
    page = client.get(reverse("leads:create")).content.decode()
    assert checkbox.search(page)
    assert 'name="new_tags"' not in page


def test_creating_a_lead_with_new_tags_from_the_form(rep: User) -> None:
    referral = Tag.objects.get_or_create(name="Referral")[0]
    Tag.objects.filter(name__iexact="Reconnect in Q3").delete()
    response = client_for(rep).post(
        reverse("leads:create"),
        {
            "first_name": "Nora",
            "last_name": "New",
            "email": "nora@new.example",
            "tags": [str(referral.pk)],
            "new_tags": "Reconnect in Q3, referral",
            "rate": "warm",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    lead = Lead.objects.get(email="nora@new.example")
    assert sorted(lead.tags.values_list("name", flat=True)) == ["Reconnect in Q3", "Referral"]


def test_a_too_long_new_tag_is_a_form_error(rep: User) -> None:
    response = client_for(rep).post(
        reverse("leads:create"),
        {"first_name": "Nora", "email": "nora@new.example", "new_tags": "x" * 41, "rate": "warm"},
    )
    assert response.status_code == 200
    assert "too long for a tag" in response.content.decode()
    assert not Lead.objects.exists()


# --- Filtering by tags ----------------------------------------------------------------------


@pytest.fixture
def tagged(rep: User) -> dict[str, Any]:
    a, b, c = (Tag.objects.get_or_create(name=name)[0] for name in ("Alpha", "Beta", "Gamma"))
    both = make_lead(rep, last_name="Both", tags=[a, b])
    only_a = make_lead(rep, last_name="OnlyA", tags=[a])
    only_c = make_lead(rep, last_name="OnlyC", tags=[c])
    none = make_lead(rep, last_name="None")
    return {"tags": (a, b, c), "leads": (both, only_a, only_c, none)}


def test_any_and_all_of_several_tags(rep: User, tagged: dict[str, Any]) -> None:
    a, b, c = tagged["tags"]
    both, only_a, only_c, _ = tagged["leads"]
    client = client_for(rep)
    assert listed(client, f"?tag={a.pk}&tag={b.pk}") == {both.number, only_a.number}
    assert listed(client, f"?tag={a.pk}&tag={b.pk}&tag_match=any") == {both.number, only_a.number}
    assert listed(client, f"?tag={a.pk}&tag={b.pk}&tag_match=all") == {both.number}
    assert listed(client, f"?tag={a.pk}&tag={c.pk}") == {both.number, only_a.number, only_c.number}
    assert listed(client, f"?tag={a.pk}&tag={c.pk}&tag_match=all") == set()


def test_tag_filter_rows_are_not_doubled_and_queries_stay_bounded(
    rep: User, tagged: dict[str, Any], django_assert_max_num_queries: Any
) -> None:
    a, b, _ = tagged["tags"]
    client = client_for(rep)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("leads:list") + f"?tag={a.pk}&tag={b.pk}")
    rows = [lead.pk for lead in response.context["page"].rows]
    assert len(rows) == len(set(rows)) == 2


def test_the_list_shows_the_tag_filter_without_ctrl_click(
    rep: User, tagged: dict[str, Any]
) -> None:
    a, _, _ = tagged["tags"]
    page = client_for(rep).get(reverse("leads:list") + f"?tag={a.pk}").content.decode()
    assert f'name="tag" value="{a.pk}" id="filter-tag-{a.pk}" checked' in page
    assert 'name="tag_match" value="all"' in page
    assert "1 tag" in page


@pytest.mark.parametrize("garbage", ["abc", "²", "-1", "99999999999999999999", ""])
def test_garbage_tags_and_days_are_messages_not_errors(rep: User, garbage: str) -> None:
    client = client_for(rep)
    for query in (f"?tag={garbage}", f"?tag_match={garbage}", f"?idle={garbage}"):
        assert client.get(reverse("leads:list") + query).status_code == 200


# --- Dormant leads --------------------------------------------------------------------------


def _age(lead: Lead, days: int) -> None:
    Lead.objects.filter(pk=lead.pk).update(last_activity_at=timezone.now() - timedelta(days=days))


def test_no_activity_in_n_days_finds_dormant_open_leads(rep: User) -> None:
    quiet = make_lead(rep, last_name="Quiet")
    busy = make_lead(rep, last_name="Busy")
    closed = make_lead(rep, last_name="Closed")
    services.lead_change_status(lead=closed, actor=rep, status="junk")
    for lead in (quiet, busy, closed):
        _age(lead, 40)
    services.lead_add_note(lead=busy, actor=rep, kind="note", body="Still talking")
    client = client_for(rep)
    assert listed(client, "?idle=30") == {quiet.number}
    assert listed(client, "?idle=50") == set()
    assert listed(client, "?idle=1000") == set()
    page = client.get(reverse("leads:list") + "?idle=0").content.decode()
    assert "greater than or equal to 1" in page


def test_every_change_and_note_counts_as_activity(rep: User) -> None:
    lead = make_lead(rep)
    _age(lead, 10)
    lead.refresh_from_db()
    before = lead.last_activity_at
    services.lead_set_next_action(
        lead=lead, actor=rep, next_action="Call", due=timezone.now() + timedelta(days=1)
    )
    lead.refresh_from_db()
    assert lead.last_activity_at > before
    _age(lead, 10)
    version = Lead.objects.get(pk=lead.pk).version
    note = services.lead_add_note(lead=lead, actor=rep, kind="call", body="Left a message")
    lead.refresh_from_db()
    assert lead.last_activity_at >= note.created_at
    assert lead.version == version + 1  # the call moved New → Contacted; a plain note would not


def test_longest_without_activity_sorts_first_and_has_a_saved_view(rep: User) -> None:
    older, old = make_lead(rep, last_name="Older"), make_lead(rep, last_name="Old")
    _age(older, 60)
    _age(old, 35)
    make_lead(rep, last_name="Fresh")
    client = client_for(rep)
    response = client.get(reverse("leads:list") + "?idle=30&sort=idle")
    assert [lead.number for lead in response.context["page"].rows] == [older.number, old.number]
    assert "No activity in 30 days" in client.get(reverse("leads:list")).content.decode()


# --- Lead numbers ---------------------------------------------------------------------------


def test_lead_numbers_follow_the_admins_format(rep: User, admin: User) -> None:
    first = make_lead(rep)
    assert first.number.startswith("L-")
    assert len(first.number) == 8
    saved = client_for(admin).post(
        reverse("admin:leads_leadsettings_change", args=[LeadSettings.current().pk]),
        {
            "number_prefix": "ACME-",
            "number_width": "4",
            "reps_can_create_tags": "on",
            # The form's scoring section, as shown (leads.scoring).
            "score_hot_from": "70",
            "score_warm_from": "40",
            "score_decay_per_week": "5",
        },
    )
    assert saved.status_code == 302
    second = make_lead(rep)
    assert second.number.startswith("ACME-")
    assert len(second.number) == len("ACME-") + max(4, len(str(int(first.number[2:]) + 1)))
    # Numbers go on from the same sequence: the old format's numbers are never reused.
    assert int(second.number.removeprefix("ACME-")) > int(first.number.removeprefix("L-"))


def test_a_number_typed_by_hand_in_the_new_format_is_skipped(rep: User) -> None:
    settings = LeadSettings.current()
    settings.number_prefix, settings.number_width = "X", 3
    settings.save()
    probe = make_lead(rep)
    following = f"X{int(probe.number[1:]) + 1:03d}"
    make_lead(rep, number=following)
    assert make_lead(rep).number == f"X{int(probe.number[1:]) + 2:03d}"


@pytest.mark.parametrize(
    ("prefix", "width", "error"),
    [("L 1", "6", "letters, digits and hyphens"), ("L-", "0", "greater than or equal to 1"),
     ("L-", "11", "less than or equal to 10"), ("<b>", "6", "letters, digits and hyphens")],
)  # fmt: skip
def test_a_bad_format_is_refused_in_place(admin: User, prefix: str, width: str, error: str) -> None:
    response = client_for(admin).post(
        reverse("admin:leads_leadsettings_change", args=[LeadSettings.current().pk]),
        {"number_prefix": prefix, "number_width": width},
    )
    assert response.status_code == 200
    assert error in response.content.decode()
    assert LeadSettings.current().number_prefix == "L-"


def test_only_admins_reach_the_lead_settings(rep: User, manager: User) -> None:
    url = reverse("admin:leads_leadsettings_changelist")
    for user in (rep, manager):
        response = client_for(user).get(url)
        assert response.status_code in (302, 403)
        assert "/leads/leadsettings/1/" not in response.get("Location", "")


# --- In a browser ---------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_type_to_find_a_tag_and_enter_to_add_a_new_one(
    live_server: Any, page: Any, rep: User
) -> None:
    from playwright.sync_api import expect

    for name in ("Referral", "Reconnect in Q3", "Budget issue"):
        Tag.objects.get_or_create(name=name)
    Tag.objects.filter(name__iexact="Trade show 2026").delete()
    page.goto(f"{live_server.url}/accounts/login/?next=/leads/new/")
    page.get_by_label("Email address").fill(rep.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("First name").fill("Tina")
    page.get_by_label("Email", exact=True).fill("tina@example.com")
    search = page.get_by_label("Find or add a tag")
    search.fill("rec")
    expect(page.get_by_label("Reconnect in Q3")).to_be_visible()
    expect(page.get_by_label("Budget issue")).to_be_hidden()
    search.fill("reconnect in q3")
    search.press("Enter")  # an existing tag: ticked, the form is not sent
    expect(page.get_by_label("Reconnect in Q3")).to_be_checked()
    search.fill("Trade show 2026")
    search.press("Enter")
    expect(page.get_by_label("New tags")).to_have_value("Trade show 2026")
    page.get_by_role("button", name="Create lead").click()
    expect(page.locator("h1")).to_contain_text("Tina")
    lead = Lead.objects.get(email="tina@example.com")
    assert sorted(lead.tags.values_list("name", flat=True)) == [
        "Reconnect in Q3",
        "Trade show 2026",
    ]
