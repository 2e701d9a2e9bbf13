"""The duplicates page, the merge preview, merging and undoing through the pages."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from leads import services as lead_services
from leads.merge import services, views
from leads.models import Lead, LeadMerge
from tests.factories import make_lead
from tests.merge.helpers import fresh

pytestmark = pytest.mark.django_db


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def said(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]]


@pytest.fixture
def dupes(rep: User, rep_b: User) -> list[Lead]:
    return [
        make_lead(rep, first_name="Ann", last_name="Lee", company="Acme", email="ann@acme.com"),
        make_lead(rep_b, first_name="Ann", last_name="LEE", company="acme", email="ann@acme.com"),
        make_lead(rep, first_name="Bo", last_name="Lee", company="Acme", phone="+4930111222"),
        make_lead(rep, first_name="Cy", last_name="Ng", phone="+49 30 111 222"),
    ]


def test_reps_get_403(rep: User) -> None:
    assert client_for(rep).get(reverse("leads:duplicates")).status_code == 403


@pytest.mark.parametrize(
    ("by", "sizes"),
    [("email", [2]), ("phone", [2]), ("similar", [3])],
    ids=["email", "phone", "similar"],
)
def test_groups_by_each_matching(
    manager: User, dupes: list[Lead], by: str, sizes: list[int]
) -> None:
    page = client_for(manager).get(reverse("leads:duplicates"), {"by": by})
    assert page.status_code == 200
    groups = page.context["page"].groups
    assert [len(group.leads) for group in groups] == sizes
    assert all(group.reason and 0 < group.confidence <= 100 for group in groups)
    assert f"{reverse('leads:merge')}?ids=" in page.content.decode()


def test_a_manager_sees_only_their_teams_groups(
    manager: User, other_manager: User, rep: User
) -> None:
    make_lead(rep, email="shared@example.com")
    make_lead(other_manager, email="shared@example.com")
    make_lead(other_manager, email="theirs@example.com")
    make_lead(other_manager, email="theirs@example.com")
    page = client_for(manager).get(reverse("leads:duplicates"))
    assert page.context["page"].groups == []
    assert "No likely duplicates" in page.content.decode()


def test_groups_page_by_key_with_constant_queries(
    manager: User, rep: User, django_assert_max_num_queries: Any
) -> None:
    for n in range(25):
        make_lead(rep, email=f"p{n:02}@example.com")
        make_lead(rep, email=f"p{n:02}@example.com")
    client = client_for(manager)
    client.get(reverse("leads:duplicates"))  # warm the session and content types
    with django_assert_max_num_queries(8):
        first = client.get(reverse("leads:duplicates"))
    assert len(first.context["page"].groups) == 20
    cursor = first.context["page"].next_cursor
    assert cursor == "p19@example.com"
    second = client.get(reverse("leads:duplicates"), {"after": cursor})
    assert [g.key for g in second.context["page"].groups][:1] == ["p20@example.com"]
    assert second.context["page"].next_cursor is None


@pytest.mark.parametrize("ids", ["", "abc", "1", "1,1", "1;2", "9" * 30, "1," * 12])
def test_bad_ids_are_a_clear_error(rep: User, ids: str) -> None:
    response = client_for(rep).get(reverse("leads:merge"), {"ids": ids})
    assert response.status_code == 400
    assert response.context["error"]


def test_ids_not_visible_are_a_404(rep: User, rep_b: User) -> None:
    mine = make_lead(rep)
    theirs = make_lead(rep_b)
    response = client_for(rep).get(reverse("leads:merge"), {"ids": f"{mine.pk},{theirs.pk}"})
    assert response.status_code == 404
    assert response.context["error"] == views.IDS_NOT_VISIBLE.format(count=1)


def _form(response: Any) -> dict[str, str]:
    """What the preview would post: its hidden fields and checked radios."""
    import re

    html = response.content.decode()
    data = dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', html))
    for name, value in re.findall(
        r'type="radio" name="([^"]+)" id="[^"]+" value="(\d+)" checked', html
    ):
        data[name] = value
    return data


def test_preview_merge_and_undo(rep: User, django_assert_max_num_queries: Any) -> None:
    old = make_lead(rep, first_name="Ann", last_name="Lee", company="Acme", email="a@x.com")
    new = make_lead(rep, first_name="Anne", last_name="Lee", email="a@x.com", job_title="CTO")
    client = client_for(rep)
    url = reverse("leads:merge")
    preview = client.get(url, {"ids": f"{new.pk},{old.pk}"})
    assert preview.status_code == 200
    assert preview.context["survivor"] == old  # the oldest by default
    data = _form(preview)
    assert data["choice_first_name"] == str(new.pk)
    data["choice_first_name"] = str(old.pk)
    with django_assert_max_num_queries(40):
        done = client.post(url, data)
    assert done.status_code == 302
    assert done["Location"] == old.get_absolute_url()
    assert fresh(old).first_name == "Ann"
    assert fresh(old).job_title == "CTO"
    assert fresh(new).merged_into_id == old.pk
    page = client.get(old.get_absolute_url())
    assert views.MERGED.format(numbers=new.number, survivor=old.number) in said(page)
    merge = LeadMerge.objects.get()
    assert reverse("leads:merge_undo", args=[merge.pk]) in page.content.decode()
    undone = client.post(reverse("leads:merge_undo", args=[merge.pk]), follow=True)
    assert views.UNDONE.format(numbers=new.number, verb="is") in said(undone)
    assert fresh(new).merged_into_id is None
    assert fresh(old).first_name == "Ann"
    assert fresh(old).job_title == ""


def test_a_stale_preview_is_refused_and_shown_again(rep: User) -> None:
    old = make_lead(rep, last_name="Lee", email="a@x.com")
    new = make_lead(rep, last_name="Lee", email="a@x.com")
    client = client_for(rep)
    data = _form(client.get(reverse("leads:merge"), {"ids": f"{old.pk},{new.pk}"}))
    lead_services.lead_update(lead=new, actor=rep, expected_version=new.version, region="X")
    response = client.post(reverse("leads:merge"), data)
    assert response.status_code == 200
    assert services.MERGE_STALE.format(numbers=new.number) in said(response)
    assert fresh(new).merged_into_id is None
    assert f'name="version_{new.pk}" value="{fresh(new).version}"' in response.content.decode()


def test_a_post_without_versions_merges_nothing(rep: User) -> None:
    old = make_lead(rep, last_name="Lee")
    new = make_lead(rep, last_name="Lee")
    response = client_for(rep).post(reverse("leads:merge"), {"ids": f"{old.pk},{new.pk}"})
    assert services.MERGE_VERSION_MISSING in said(response)
    assert fresh(new).merged_into_id is None


def test_the_lead_pages_hints_link_to_a_merge_of_exactly_those(rep: User) -> None:
    lead = make_lead(rep, last_name="Lee", email="dup@x.com")
    twin = make_lead(rep, last_name="Lee", email="dup@x.com")
    make_lead(rep, last_name="Other", email="other@x.com")
    page = client_for(rep).get(lead.get_absolute_url())
    assert f"{reverse('leads:merge')}?ids={lead.pk},{twin.pk}" in page.content.decode()


def test_someone_elses_merge_cannot_be_undone(rep: User, rep_b: User) -> None:
    old = make_lead(rep, last_name="Lee")
    new = make_lead(rep, last_name="Lee")
    merge = services.leads_merge(
        actor=rep, survivor=old, others=[new], versions={old.pk: 1, new.pk: 1}
    )
    response = client_for(rep_b).post(reverse("leads:merge_undo", args=[merge.pk]))
    assert response.status_code == 404


def test_the_preview_costs_the_same_for_ten_leads_as_for_two(
    rep: User, django_assert_max_num_queries: Any
) -> None:
    leads = [make_lead(rep, last_name="Lee", email="same@x.com") for _ in range(10)]
    client = client_for(rep)
    client.get(reverse("leads:merge"), {"ids": f"{leads[0].pk},{leads[1].pk}"})
    with django_assert_max_num_queries(6):
        two = client.get(reverse("leads:merge"), {"ids": f"{leads[0].pk},{leads[1].pk}"})
    with django_assert_max_num_queries(6):
        ten = client.get(reverse("leads:merge"), {"ids": ",".join(str(lead.pk) for lead in leads)})
    assert two.status_code == ten.status_code == 200
    assert len(ten.context["records"]) == 10
