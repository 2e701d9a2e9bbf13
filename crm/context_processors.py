from django.conf import settings
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

# Main navigation: (label, url name). Sections appear once their app registers the URL.
NAVIGATION = [
    ("Leads", "leads:list"),
    ("Deals", "deals:list"),
    ("Contacts", "deals:contacts"),
    ("Tasks", "tasks:list"),
    ("Dashboard", "dashboard"),
]


def site(request: HttpRequest) -> dict[str, object]:
    links = []
    for label, name in NAVIGATION:
        try:
            links.append((label, reverse(name)))
        except NoReverseMatch:
            continue
    # The closest section is the active one: /deals/contacts/ is Contacts, not Deals.
    active = max((url for _, url in links if request.path.startswith(url)), key=len, default=None)
    items = [{"label": label, "url": url, "active": url == active} for label, url in links]
    return {"SITE_URL": settings.SITE_URL, "nav_items": items}
