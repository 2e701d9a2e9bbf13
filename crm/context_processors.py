from functools import cached_property
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from crm.models import Notification

# The bell counts up to this many; past it, it says "99+".
UNREAD_CAP = 99

# Main navigation: (label, url name, the permission it needs or ""). Sections appear once
# their app registers the URL.
NAVIGATION = [
    ("Leads", "leads:list", ""),
    ("Import", "imports:start", "accounts.import_records"),
    ("Deals", "deals:list", ""),
    ("Contacts", "deals:contacts", ""),
    ("Tasks", "tasks:list", ""),
    ("Dashboard", "dashboard", ""),
]


def site(request: HttpRequest) -> dict[str, object]:
    links = []
    user = getattr(request, "user", None)
    for label, name, permission in NAVIGATION:
        if permission and not (user is not None and user.has_perm(permission)):
            continue
        try:
            links.append((label, reverse(name)))
        except NoReverseMatch:
            continue
    # The closest section is the active one: /deals/contacts/ is Contacts, not Deals.
    active = max((url for _, url in links if request.path.startswith(url)), key=len, default=None)
    items = [{"label": label, "url": url, "active": url == active} for label, url in links]
    context: dict[str, object] = {"SITE_URL": settings.SITE_URL, "nav_items": items}
    if user is not None and user.is_authenticated:
        context["unread"] = UnreadCount(user)
    return context


class UnreadCount:
    """The bell's number: loaded with the user by ``PermissionBackend.get_user``, or else
    one query, made only if a template shows it (an htmx partial never does)."""

    def __init__(self, user: Any) -> None:
        self.user = user

    @cached_property
    def count(self) -> int:
        loaded = getattr(self.user, "unread_notifications", None)
        if loaded is not None:  # counted when the session's user was loaded
            return int(loaded)
        unread = Notification.objects.for_user(self.user).unread()
        return int(unread[: UNREAD_CAP + 1].count())

    @property
    def label(self) -> str:
        return f"{UNREAD_CAP}+" if self.count > UNREAD_CAP else str(self.count)
