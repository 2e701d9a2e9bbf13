from django.urls import path

from leads.webforms import views

app_name = "webforms"

urlpatterns = [
    path("<slug:slug>/", views.form_page, name="form"),
]
