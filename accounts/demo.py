"""The demo team that ``seed_demo`` creates: idempotent, keyed on email addresses."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from accounts import services
from accounts.models import Membership, Team, User
from accounts.roles import Role


@dataclass(frozen=True)
class DemoUser:
    email: str
    first_name: str
    last_name: str
    role: Role
    timezone: str
    team_role: Membership.Role | None


DEMO_TEAM = "Inside Sales"
DEMO_USERS = [
    DemoUser("admin@example.com", "Ada", "Admin", Role.ADMIN, "Europe/London", None),
    DemoUser(
        "manager@example.com",
        "Maya",
        "Manager",
        Role.MANAGER,
        "Europe/Berlin",
        Membership.Role.MANAGER,
    ),
    DemoUser(
        "rep1@example.com", "Ravi", "Rep", Role.REP, "America/New_York", Membership.Role.MEMBER
    ),
    DemoUser(
        "rep2@example.com", "Rosa", "Rep", Role.REP, "America/Chicago", Membership.Role.MEMBER
    ),
]


@transaction.atomic
def seed_users(*, password: str) -> list[User]:
    team, _ = Team.objects.get_or_create(name=DEMO_TEAM)
    users = []
    for demo in DEMO_USERS:
        user = User.objects.filter(email=demo.email).first()
        if user is None:
            user = services.user_create(
                email=demo.email,
                first_name=demo.first_name,
                last_name=demo.last_name,
                timezone_name=demo.timezone,
                role=demo.role,
                password=password,
                send_invitation=False,
            )
        else:
            user.set_password(password)
            user.is_active = True
            user.save(update_fields=["password", "is_active"])
            services.user_set_role(user=user, role=demo.role)
        if demo.team_role is not None:
            services.team_add_member(team=team, user=user, role=demo.team_role)
        users.append(user)
    return users
