"""Roles are Django groups with a fixed set of named permissions.

The permissions that matter to the product ("capabilities") are declared on the User
model's Meta so that they exist from the first migration; later apps check them with
``user.has_perm("accounts.<codename>")``. The groups below are created and kept in sync
after every ``migrate``.
"""

from __future__ import annotations

from typing import Any

from django.db import models


class Role(models.TextChoices):
    REP = "Sales rep", "Sales rep"
    MANAGER = "Manager", "Manager"
    ADMIN = "Admin", "Admin"


class Capability(models.TextChoices):
    """Named permissions (codenames in the ``accounts`` app)."""

    ASSIGN_OWNER = "assign_owner", "Can assign and reassign record owners"
    CONVERT_LEAD = "convert_lead", "Can convert a qualified lead into a deal"
    REOPEN_RECORD = "reopen_record", "Can reopen closed leads and deals"
    BULK_UPDATE = "bulk_update", "Can bulk-update records"
    EXPORT_RECORDS = "export_records", "Can export lists to CSV"
    IMPORT_RECORDS = "import_records", "Can import leads from CSV"
    VIEW_TEAM = "view_team", "Can see the records of the teams they manage"
    VIEW_ALL = "view_all", "Can see every record"
    MANAGE_SETTINGS = "manage_settings", "Can manage pipeline, sources, forms and rules"
    MANAGE_USERS = "manage_users", "Can manage users, teams and roles"


# What each role may do. Admins also get every model permission of the settings apps.
ROLE_CAPABILITIES: dict[Role, set[Capability]] = {
    Role.REP: {Capability.CONVERT_LEAD, Capability.EXPORT_RECORDS},
    Role.MANAGER: {
        Capability.CONVERT_LEAD,
        Capability.EXPORT_RECORDS,
        Capability.IMPORT_RECORDS,
        Capability.ASSIGN_OWNER,
        Capability.REOPEN_RECORD,
        Capability.BULK_UPDATE,
        Capability.VIEW_TEAM,
    },
    Role.ADMIN: set(Capability),
}

# Apps whose models admins manage in the Django admin (users, teams, and later settings).
ADMIN_MODEL_APPS = [
    "accounts",
    "auth",
    "leads",
    "deals",
    "followups",
    "webforms",
    "inbound",
    "imports",
    "axes",
]


def sync_role_groups() -> None:
    """Create the role groups and give each exactly its permissions."""
    from django.contrib.auth.models import Group, Permission

    for role, capabilities in ROLE_CAPABILITIES.items():
        group, _ = Group.objects.get_or_create(name=role.value)
        permissions = Permission.objects.filter(
            content_type__app_label="accounts",
            codename__in=[capability.value for capability in capabilities],
        )
        if role == Role.ADMIN:
            permissions = permissions | Permission.objects.filter(
                content_type__app_label__in=ADMIN_MODEL_APPS
            )
        group.permissions.set(permissions)


def sync_role_groups_after_migrate(**kwargs: Any) -> None:
    sync_role_groups()
