from __future__ import annotations

import itertools
from typing import Any

import factory

from accounts import services
from accounts.models import Membership, Team, User
from accounts.roles import Role
from leads.models import Lead

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    """Users are made through ``user_create``, as the admin screens make them."""

    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    role = Role.REP

    @classmethod
    def _create(cls, model_class: type[User], *args: Any, **kwargs: Any) -> User:
        return services.user_create(
            email=kwargs["email"],
            first_name=kwargs["first_name"],
            last_name=kwargs["last_name"],
            role=kwargs["role"],
            timezone_name=kwargs.get("timezone", "UTC"),
            password=kwargs.get("password", PASSWORD),
            send_invitation=False,
        )


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"Team {n}")


def add_to_team(team: Team, user: User, role: Membership.Role = Membership.Role.MEMBER) -> User:
    services.team_add_member(team=team, user=user, role=role)
    return user


def make_user(**kwargs: Any) -> User:
    return UserFactory(**kwargs)  # type: ignore[return-value]


def make_team(**kwargs: Any) -> Team:
    return TeamFactory(**kwargs)  # type: ignore[return-value]


def make_lead(actor: User, **fields: Any) -> Lead:
    """A lead made as the app makes them: through lead_create."""
    from leads import services

    owner = fields.pop("owner", None)
    defaults = {"first_name": "Ann", "last_name": "Lee", "email": f"lead{next(_leads)}@example.com"}
    return services.lead_create(actor=actor, owner=owner, **{**defaults, **fields})


_leads = itertools.count(1)
