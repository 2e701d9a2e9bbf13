"""What each role may and may not do among the accounts screens, and who sees whom."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts import services
from accounts.models import Membership, Scope, Team, User, access_scope
from accounts.roles import ROLE_CAPABILITIES, Capability, Role

pytestmark = pytest.mark.django_db

ADMIN_SCREENS = [
    "admin:index",
    "admin:accounts_user_changelist",
    "admin:accounts_user_add",
    "admin:accounts_team_changelist",
    "admin:accounts_team_add",
    "admin:auth_group_changelist",
]


def test_role_groups_exist_with_their_capabilities() -> None:
    for role, capabilities in ROLE_CAPABILITIES.items():
        group = Group.objects.get(name=role.value)
        codenames = set(
            group.permissions.filter(content_type__app_label="accounts").values_list(
                "codename", flat=True
            )
        )
        assert {c.value for c in capabilities} <= codenames


@pytest.mark.parametrize(
    ("fixture", "allowed", "denied"),
    [
        (
            "rep",
            {Capability.CONVERT_LEAD},
            {
                Capability.ASSIGN_OWNER,
                Capability.VIEW_TEAM,
                Capability.VIEW_ALL,
                Capability.MANAGE_USERS,
            },
        ),
        (
            "manager",
            {Capability.ASSIGN_OWNER, Capability.VIEW_TEAM, Capability.BULK_UPDATE},
            {Capability.VIEW_ALL, Capability.MANAGE_USERS, Capability.MANAGE_SETTINGS},
        ),
        ("admin", set(Capability), set()),
    ],
)
def test_capabilities_by_role(
    request: pytest.FixtureRequest, fixture: str, allowed: set, denied: set
) -> None:
    user: User = request.getfixturevalue(fixture)
    for capability in allowed:
        assert user.has_perm(f"accounts.{capability}"), capability
    for capability in denied:
        assert not user.has_perm(f"accounts.{capability}"), capability


@pytest.mark.parametrize("fixture", ["rep", "manager"])
@pytest.mark.parametrize("screen", ADMIN_SCREENS)
def test_reps_and_managers_cannot_open_user_and_team_admin(
    client: Client, request: pytest.FixtureRequest, fixture: str, screen: str
) -> None:
    client.force_login(request.getfixturevalue(fixture))
    response = client.get(reverse(screen))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


@pytest.mark.parametrize("screen", ADMIN_SCREENS)
def test_admin_opens_user_and_team_admin(client: Client, admin: User, screen: str) -> None:
    client.force_login(admin)
    assert client.get(reverse(screen)).status_code == 200


def test_manager_cannot_create_a_user_by_posting_to_the_admin(
    client: Client, manager: User
) -> None:
    client.force_login(manager)
    client.post(
        reverse("admin:accounts_user_add"),
        {"email": "sneaky@example.com", "role": Role.ADMIN.value, "timezone": "UTC"},
    )
    assert not User.objects.filter(email="sneaky@example.com").exists()


def test_admin_creates_a_user_with_a_role_and_an_invitation(
    client: Client, admin: User, django_capture_on_commit_callbacks
) -> None:
    client.force_login(admin)
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(
            reverse("admin:accounts_user_add"),
            {
                "email": "New.Rep@Example.com",
                "first_name": "New",
                "last_name": "Rep",
                "timezone": "Europe/Paris",
                "role": Role.REP.value,
                "send_invitation": "on",
                "memberships-TOTAL_FORMS": "0",
                "memberships-INITIAL_FORMS": "0",
            },
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    user = User.objects.get(email="new.rep@example.com")
    assert user.role == Role.REP
    assert not user.is_staff
    assert not user.has_usable_password()
    assert user.timezone == "Europe/Paris"
    assert len(callbacks) == 1  # the invitation is enqueued only once the user is committed


def test_admin_changes_a_role_and_admin_site_access_follows(
    client: Client, admin: User, rep: User
) -> None:
    client.force_login(admin)
    response = client.post(
        reverse("admin:accounts_user_change", args=[rep.pk]),
        {
            "email": rep.email,
            "first_name": rep.first_name,
            "last_name": rep.last_name,
            "timezone": "UTC",
            "role": Role.ADMIN.value,
            "is_active": "on",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    rep = User.objects.get(pk=rep.pk)
    assert rep.role == Role.ADMIN
    assert rep.is_staff
    assert rep.groups.count() == 1


def test_admin_builds_a_team_with_managers_and_members(
    client: Client, admin: User, rep: User, rep_b: User
) -> None:
    client.force_login(admin)
    response = client.post(
        reverse("admin:accounts_team_add"),
        {
            "name": "Enterprise",
            "memberships-TOTAL_FORMS": "2",
            "memberships-INITIAL_FORMS": "0",
            "memberships-0-user": rep.pk,
            "memberships-0-role": Membership.Role.MANAGER,
            "memberships-1-user": rep_b.pk,
            "memberships-1-role": Membership.Role.MEMBER,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    team = Team.objects.get(name="Enterprise")
    assert list(rep.managed_teams()) == [team]
    assert set(team.people.all()) == {rep, rep_b}


def test_invitation_email_links_to_a_working_password_form(client: Client) -> None:
    user = services.user_create(email="invited@example.com", role=Role.REP, send_invitation=False)
    assert services.user_send_invitation(user=user)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["invited@example.com"]
    link = next(line for line in message.body.splitlines() if "/accounts/reset/" in line)
    path = link.split("://", 1)[1].split("/", 1)[1]
    response = client.get("/" + path, follow=True)
    assert response.context["validlink"]
    user.refresh_from_db()
    assert user.invitation_sent_at is not None


def test_scope_follows_permissions(rep: User, manager: User, admin: User) -> None:
    assert access_scope(rep) == Scope.OWN
    assert access_scope(manager) == Scope.TEAM
    assert access_scope(admin) == Scope.ALL


def test_users_visible_to_each_role(
    rep: User, rep_b: User, manager: User, other_manager: User, admin: User
) -> None:
    assert set(User.objects.visible_to(rep)) == {rep}
    assert set(User.objects.visible_to(manager)) == {manager, rep, rep_b}
    assert set(User.objects.visible_to(other_manager)) == {other_manager}
    assert set(User.objects.visible_to(admin)) == {rep, rep_b, manager, other_manager, admin}


def test_a_disabled_user_sees_nothing_beyond_themself(manager: User) -> None:
    manager.is_active = False
    manager.save(update_fields=["is_active"])
    assert access_scope(manager) == Scope.OWN


def test_profile_changes_name_and_timezone_but_not_role(client: Client, rep: User) -> None:
    client.force_login(rep)
    response = client.post(
        reverse("profile"),
        {
            "first_name": "Renamed",
            "last_name": "Rep",
            "timezone": "Asia/Tokyo",
            "role": "Admin",
            "is_staff": "on",
        },
        follow=True,
    )
    assert "Your profile was saved." in response.content.decode()
    rep = User.objects.get(pk=rep.pk)
    assert (rep.first_name, rep.timezone) == ("Renamed", "Asia/Tokyo")
    assert rep.role == Role.REP
    assert not rep.is_staff


def test_profile_rejects_an_unknown_timezone_in_place(client: Client, rep: User) -> None:
    client.force_login(rep)
    response = client.post(
        reverse("profile"), {"first_name": "R", "last_name": "R", "timezone": "Mars/Olympus"}
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    rep.refresh_from_db()
    assert rep.timezone == "UTC"


def test_email_is_unique_whatever_its_case(rep: User) -> None:
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.user_create(email=rep.email.upper(), role=Role.REP, send_invitation=False)
