from django.urls import path

from crm.followups.emails import views as email_views
from deals import views as deal_views
from leads import views
from leads.merge import views as merge_views

app_name = "leads"

urlpatterns = [
    path("", views.lead_list, name="list"),
    path("new/", views.lead_create, name="create"),
    path("export/", views.lead_export, name="export"),
    path("count/", views.lead_count, name="count"),
    path("bulk/", views.lead_bulk, name="bulk"),
    path("duplicates/", merge_views.duplicate_list, name="duplicates"),
    path("merge/", merge_views.merge_preview, name="merge"),
    path("merges/<int:pk>/undo/", merge_views.merge_undo, name="merge_undo"),
    path("<int:pk>/", views.lead_detail, name="detail"),
    path("<int:pk>/edit/", views.lead_edit, name="edit"),
    path("<int:pk>/status/", views.lead_change_status, name="status"),
    path("<int:pk>/assign/", views.lead_assign, name="assign"),
    path("<int:pk>/claim/", views.lead_claim, name="claim"),
    path("<int:pk>/next-action/", views.lead_set_next_action, name="next_action"),
    path("<int:pk>/notes/", views.lead_add_note, name="note"),
    path("<int:pk>/rate/", views.lead_apply_rate, name="apply_rate"),
    path("<int:pk>/convert/", deal_views.lead_convert, name="convert"),
    path("<int:pk>/email/", email_views.lead_email, name="email"),
    path("email-templates/", email_views.template_list, name="email_templates"),
    path("email-templates/new/", email_views.template_create, name="email_template_create"),
    path("email-templates/<int:pk>/", email_views.template_edit, name="email_template_edit"),
    path(
        "email-templates/<int:pk>/delete/",
        email_views.template_delete,
        name="email_template_delete",
    ),
]
