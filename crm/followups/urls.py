from django.urls import path

from crm.followups import views

app_name = "tasks"

urlpatterns = [
    path("", views.task_list, name="list"),
    path("new/", views.task_create, name="create"),
    path("<int:pk>/", views.task_detail, name="detail"),
    path("<int:pk>/edit/", views.task_edit, name="edit"),
    path("<int:pk>/complete/", views.task_complete, name="complete"),
    path("<int:pk>/reopen/", views.task_reopen, name="reopen"),
    path("<int:pk>/reschedule/", views.task_reschedule, name="reschedule"),
    path("<int:pk>/reassign/", views.task_reassign, name="reassign"),
]
