from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Users and teams"

    def ready(self) -> None:
        from accounts import roles, signals  # noqa: F401  (connects the receivers)

        # Permissions are created in post_migrate too, one app at a time, so the roles are
        # synced after every app's turn: the Admin role holds permissions of later apps.
        post_migrate.connect(roles.sync_role_groups_after_migrate)
