from django.apps import AppConfig


class FollowupsConfig(AppConfig):
    name = "crm.followups"
    label = "followups"
    verbose_name = "Follow-ups"

    def ready(self) -> None:
        from crm.followups import receivers  # noqa: F401  (tasks follow their record)
