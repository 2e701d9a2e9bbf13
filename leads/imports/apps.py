from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "leads.imports"
    label = "imports"
    verbose_name = "Lead imports"
