from django.contrib import admin
from django.urls import include, path

from crm import views

admin.site.site_header = "CRM administration"
admin.site.site_title = "CRM admin"
admin.site.index_title = "Users, teams and settings"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/", include("accounts.urls")),
    path("leads/", include("leads.urls")),
    path("deals/", include("deals.urls")),
    path("tasks/", include("leads.task_urls")),
    path("admin/", admin.site.urls),
]
