from django.contrib import admin
from django.urls import include, path

from crm import views
from crm.metrics import views as metrics_views

admin.site.site_header = "CRM administration"
admin.site.site_title = "CRM admin"
admin.site.index_title = "Users, teams and settings"

notification_urls = [
    path("", views.notification_list, name="list"),
    path("read/", views.notification_read_all, name="read_all"),
    path("<int:pk>/open/", views.notification_open, name="open"),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("metrics", metrics_views.metrics, name="metrics"),
    path("api/v1/", include("crm.api.urls")),
    path("accounts/", include("accounts.urls")),
    path("leads/import/", include("leads.imports.urls")),
    path("leads/", include("leads.urls")),
    path("deals/", include("deals.urls")),
    path("tasks/", include("crm.followups.urls")),
    path("dashboard/", include("crm.dashboards.urls")),
    path("inbound/", include("leads.inbound.urls")),
    path("f/", include("leads.webforms.urls")),
    path("notifications/", include((notification_urls, "notifications"))),
    path("admin/", admin.site.urls),
]
