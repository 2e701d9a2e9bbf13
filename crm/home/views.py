"""The home page at ``/``: everyone lands here after signing in.

``?person=<id>`` switches a manager (or an admin) to one person's day; it is checked
against ``User.objects.visible_to(viewer)``, so someone outside the manager's teams is a
404 and a malformed id a 400. With htmx the switch swaps the page's ``#day`` partial.
Completing or rescheduling a task uses the tasks page's own row and actions.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import cast

from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from accounts.models import Scope, User, access_scope
from crm.followups.forms import day_bounds
from crm.followups.views import attach_reminder_problems
from crm.home import selectors
from crm.home.selectors import Focus
from crm.validators import parse_id
from leads import services as lead_services

PERSON_NOT_AN_ID = "Choose the person from the list: ?person= takes a person's id number."
PERSON_NOT_VISIBLE = "No one by that id is in your teams."


def focus_for(viewer: User, raw: str | None) -> Focus:
    """Whose day ``viewer`` asked for: a rep always their own; a manager or admin their
    team / everyone by default, or one of the people they see."""
    raw = (raw or "").strip()
    pk = parse_id(raw) if raw else None
    if raw and pk is None:
        raise BadRequest(PERSON_NOT_AN_ID)
    if access_scope(viewer) == Scope.OWN:
        if pk is not None and pk != viewer.pk:
            raise Http404(PERSON_NOT_VISIBLE)
        return Focus(viewer=viewer, person=viewer)
    people = list(
        User.objects.visible_to(viewer)
        .active()
        .only("id", "first_name", "last_name", "email", "timezone")
    )
    if pk is None:
        return Focus(viewer=viewer, person=None, people=people)
    person = next((someone for someone in people if someone.pk == pk), None)
    if person is None:
        raise Http404(PERSON_NOT_VISIBLE)
    return Focus(viewer=viewer, person=person, people=people)


def switch_choices(focus: Focus) -> list[tuple[str, str]]:
    """The switch's options: the whole team (or everyone), the viewer, then the others."""
    if not focus.people:
        return []
    everyone = "Everyone" if access_scope(focus.viewer) == Scope.ALL else "My team"
    others = [(str(p.pk), str(p)) for p in focus.people if p.pk != focus.viewer.pk]
    return [("", everyone), (str(focus.viewer.pk), "Me"), *others]


def heading(focus: Focus) -> str:
    if focus.is_own:
        return "My day"
    if focus.person is not None:
        return f"{focus.person}'s day"
    return "Everyone's day" if access_scope(focus.viewer) == Scope.ALL else "My team's day"


def list_links(focus: Focus) -> dict[str, str]:
    """The filtered list behind each block, for the same people. The lead list has no
    "waiting for a first contact" or "contacted / qualified this month" filter yet: those
    link to the nearest one (status new / contacted / qualified)."""
    owner = {"owner": focus.owner} if focus.owner else {}

    def url(name: str, **params: str) -> str:
        return f"{reverse(name)}?{urlencode(params)}"

    return {
        "overdue": url("tasks:list", show="overdue", who=focus.who),
        "today": url("tasks:list", show="today", who=focus.who),
        "waiting": url("leads:list", status="new", sort="created", **owner),
        "breached": url("leads:list", sla="breached", sort="created", **owner),
        "hottest": url("leads:list", status="open", sort="-score", **owner),
        "pipeline": url("deals:list", state="open", **owner),
        "won": url("deals:list", state="won", **owner),
        "contacted": url("leads:list", status="contacted", **owner),
        "qualified": url("leads:list", status="qualified", **owner),
    }


def _month_bounds(today: date) -> tuple[date, datetime, datetime]:
    """The first of this local month, and when the month starts and ends (aware)."""
    first = today.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    start = timezone.make_aware(datetime.combine(first, time.min))
    end = timezone.make_aware(datetime.combine(following, time.min))
    return first, start, end


@login_required
@require_GET
@vary_on_headers("HX-Request")
def home(request: HttpRequest) -> HttpResponse:
    viewer = cast(User, request.user)
    focus = focus_for(viewer, request.GET.get("person"))
    now = timezone.now()
    today = timezone.localdate(now)
    _, day_end = day_bounds(today)
    month_first, month_start, month_end = _month_bounds(today)
    tasks = selectors.tasks_due(focus, now=now, day_end=day_end)
    attach_reminder_problems(tasks.tasks)
    can_assign = lead_services.can_assign(viewer)
    context = {
        "focus": focus,
        "today": today,
        "now": now,
        "tasks": tasks,
        "waiting": selectors.leads_waiting(focus, now=now),
        "hottest": selectors.hottest_leads(focus),
        "pipeline": selectors.pipeline(
            focus, month_start=month_first, month_end=month_end, since=month_start
        ),
        "month": selectors.month_numbers(focus, month_start=month_first, since=month_start),
        # What the tasks page's row needs for its actions.
        "can_assign": can_assign,
        "people": [(person.pk, str(person)) for person in focus.people] if can_assign else [],
        "switch": switch_choices(focus),
        "heading": heading(focus),
        "links": list_links(focus),
    }
    template = "home/home.html#day" if getattr(request, "htmx", False) else "home/home.html"
    return render(request, template, context)
