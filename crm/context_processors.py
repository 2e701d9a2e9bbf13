from django.conf import settings
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

# Main navigation: (label, url name). Sections appear once their app registers the URL.
NAVIGATION = [
    ("Leads", "leads:list"),
    ("Deals", "deals:list"),
    ("Tasks", "tasks:list"),
    ("Dashboard", "dashboard"),
]


def site(request: HttpRequest) -> dict[str, object]:
    items = []
    for label, name in NAVIGATION:
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        items.append({"label": label, "url": url, "active": request.path.startswith(url)})
    return {"SITE_URL": settings.SITE_URL, "nav_items": items}
