from django.urls import path

from crm.dashboards import views

urlpatterns = [path("", views.dashboard, name="dashboard")]
