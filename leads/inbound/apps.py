from django.apps import AppConfig


class InboundConfig(AppConfig):
    name = "leads.inbound"
    label = "inbound"
    verbose_name = "Inbound email"
