from django.apps import AppConfig


class DealsConfig(AppConfig):
    name = "deals"

    def ready(self) -> None:
        from deals import receivers  # noqa: F401  (inquiries that belong on a deal)
