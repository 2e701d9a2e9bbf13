from django.urls import path

from crm.followups.emails import views as email_views
from deals import board, directory, views
from deals.merge import views as merge_views

app_name = "deals"

urlpatterns = [
    path("", views.deal_list, name="list"),
    path("forecast/", views.deal_forecast, name="forecast"),
    path("board/", board.board, name="board"),
    path("<int:pk>/", views.deal_detail, name="detail"),
    path("<int:pk>/edit/", views.deal_edit, name="edit"),
    path("<int:pk>/stage/", views.deal_move_stage, name="stage"),
    path("<int:pk>/assign/", views.deal_assign, name="assign"),
    path("<int:pk>/notes/", views.deal_add_note, name="note"),
    path("<int:pk>/next-action/", views.deal_set_next_action, name="next_action"),
    path("<int:pk>/email/", email_views.deal_email, name="email"),
    path("contacts/", directory.contact_list, name="contacts"),
    path("companies/", directory.company_list, name="companies"),
    path("contacts/duplicates/", merge_views.contact_duplicates, name="contact_duplicates"),
    path("contacts/merge/", merge_views.contact_merge, name="contact_merge"),
    path(
        "contact-merges/<int:pk>/undo/", merge_views.contact_merge_undo, name="contact_merge_undo"
    ),
    path("contacts/<int:pk>/", views.contact_detail, name="contact"),
    path("companies/<int:pk>/", views.company_detail, name="company"),
]
