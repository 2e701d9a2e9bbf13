from django.urls import path

from leads.inbound import views

app_name = "inbound"

urlpatterns = [
    path("email/<str:token>/", views.receive_email, name="email"),
]
