from django.urls import path

from leads import task_views as views

app_name = "tasks"

urlpatterns = [
    path("", views.task_list, name="list"),
    path("<int:pk>/", views.task_detail, name="detail"),
]
