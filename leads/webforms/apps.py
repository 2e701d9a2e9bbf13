from django.apps import AppConfig


class WebFormsConfig(AppConfig):
    name = "leads.webforms"
    label = "webforms"
    verbose_name = "Web forms"
