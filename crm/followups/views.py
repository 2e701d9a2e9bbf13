"""Task (follow-up) pages: the list, one task, create and edit, and the one-click actions
(complete, reopen, reschedule, reassign), plus the tasks panel of the lead and deal pages.

Every view starts from ``Task.objects.visible_to(user)``: another person's task is a 404.
Every action is a plain POST form; htmx enhances it by swapping the list row or the
record page's panel (``part=row`` / ``part=panel``) instead of reloading the page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.postgres.expressions import ArraySubquery
from django.core.exceptions import BadRequest, ValidationError
from django.db.models import Count, F, OuterRef, Q
from django.db.models.functions import JSONObject
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format
from django.utils.html import format_html
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from accounts.models import Scope, User, access_scope
from crm.followups import services
from crm.followups.forms import (
    OUTCOME_LABEL,
    CompleteForm,
    ReassignForm,
    ReopenForm,
    RescheduleForm,
    TaskFilter,
    TaskForm,
    day_bounds,
)
from crm.followups.models import Task
from crm.forms import VERSION_MISSING, keep_input_at_version, local_next, refusal
from crm.models import AuditEvent, Notification
from crm.pagination import Sort, keyset_page, warn_if_cursor_invalid
from crm.validators import parse_id, safe_localtime
from deals.models import Deal
from leads import services as lead_services
from leads.models import Lead

PER_PAGE = 50
PANEL_LIMIT = 20
TASK_SORTS = {
    sort.key: sort
    for sort in [
        Sort("due", "Due first", "due_at"),
        Sort("-done", "Done most recently", "done_at", descending=True),
    ]
}
RESCHEDULE_BAD_INPUT = "Pick a new due time (a date and a time), or +1 day / +1 week."
REASSIGN_BAD_INPUT = "Choose someone from the list; nothing was changed."
COMPLETE_BAD_INPUT = "The outcome can be at most 2,000 characters; the task is still open."
BAD_RECORD_ID = "A lead or deal id is a number."


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _task_or_404(request: HttpRequest, pk: int) -> Task:
    """Every task view starts here: a task the user cannot see is a 404, never a 403."""
    return get_object_or_404(
        Task.objects.visible_to(_user(request)).for_list().select_related("done_by"), pk=pk
    )


def people_for(user: User) -> list[tuple[int, str]]:
    """The people whose tasks the user sees and may hand tasks to (active ones), as
    (id, name) choices; empty for a rep, who sees only their own."""
    if access_scope(user) == Scope.OWN:
        return []
    return [
        (person.pk, str(person))
        for person in User.objects.visible_to(user)
        .active()
        .only("id", "first_name", "last_name", "email")
    ]


def _back(request: HttpRequest, fallback: str) -> HttpResponse:
    """To the page the form was on (``next``), if it is on this site; else ``fallback``."""
    return redirect(local_next(request) or fallback)


def _local(moment: Any) -> str:
    return date_format(safe_localtime(moment), "D M j, H:i")


# --- Reminder failures -----------------------------------------------------------------------


def reminder_problems(tasks: list[Task]) -> dict[int, str]:
    """For the tasks whose reminder was sent, what went wrong with its email, if anything:
    one query for the page, reading each task's latest reminder notification."""
    sent = [task.pk for task in tasks if task.reminder_state == Task.Reminder.SENT]
    if not sent:
        return {}
    latest = (
        Notification.objects.filter(
            kind=Notification.Kind.REMINDER,
            target_type__app_label="followups",
            target_type__model="task",
            target_id__in=sent,
        )
        .order_by("target_id", "-created_at", "-id")
        .distinct("target_id")
        .values_list("target_id", "email_state", "email_error")
    )
    problems: dict[int, str] = {}
    for target_id, state, error in latest:
        if target_id is None:
            continue
        if state == Notification.Email.FAILED:
            problems[target_id] = f"Reminder email failed: {error or 'unknown error'}"
        elif state == Notification.Email.PENDING and error:
            problems[target_id] = f"Reminder email not sent yet, retrying: {error}"
    return problems


def attach_reminder_problems(tasks: list[Task]) -> list[Task]:
    problems = reminder_problems(tasks)
    for task in tasks:
        task.reminder_problem = problems.get(task.pk, "")  # type: ignore[attr-defined]
    return tasks


# --- The list --------------------------------------------------------------------------------


def tab_counts(user: User, people: Q) -> dict[str, int]:
    """Open tasks per tab, in one query (done tasks pile up; they are not counted)."""
    start, end = day_bounds(timezone.localdate())
    return cast(
        dict[str, int],
        Task.objects.visible_to(user)
        .open()
        .filter(people)
        .aggregate(
            open=Count("pk"),
            overdue=Count("pk", filter=Q(due_at__lt=timezone.now())),
            today=Count("pk", filter=Q(due_at__gte=start, due_at__lt=end)),
            upcoming=Count("pk", filter=Q(due_at__gte=end)),
        ),
    )


@login_required
@vary_on_headers("HX-Request")
def task_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    people = people_for(user)
    filterset = TaskFilter(
        request.GET or None,
        queryset=Task.objects.visible_to(user).for_list().select_related("done_by"),
        user=user,
        people=people,
    )
    show = filterset.tab
    page = keyset_page(
        filterset.qs,
        sort_key="-done" if show == "done" else "due",
        after=request.GET.get("cursor"),
        before=request.GET.get("before"),
        per_page=PER_PAGE,
        sorts=TASK_SORTS,
        default_sort="due",
    )
    warn_if_cursor_invalid(request, page)
    counts = tab_counts(user, filterset.people_filter())
    tabs = [
        ("", "All open", counts["open"]),
        ("overdue", "Overdue", counts["overdue"]),
        ("today", "Today", counts["today"]),
        ("upcoming", "Upcoming", counts["upcoming"]),
        ("done", "Done", None),
    ]
    context = {
        "filter": filterset,
        "page": page,
        "tasks": attach_reminder_problems(page.rows),
        "show": show,
        "who": filterset.whose,
        "tabs": tabs,
        "who_choices": filterset.filters["who"].extra["choices"],
        "people": people,
        "can_assign": lead_services.can_assign(user),
        "now": timezone.now(),
    }
    template = "tasks/task_list.html#results" if _is_htmx(request) else "tasks/task_list.html"
    return render(request, template, context)


# --- One task --------------------------------------------------------------------------------


@login_required
def task_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    task = _task_or_404(request, pk)
    can_assign = lead_services.can_assign(user)
    context = {
        "task": attach_reminder_problems([task])[0],
        "history": AuditEvent.objects.for_object(task)[:50],
        "people": people_for(user) if can_assign and not task.is_done else [],
        "can_assign": can_assign,
        "outcome_label": _outcome_label(task),
        "now": timezone.now(),
    }
    return render(request, "tasks/task_detail.html", context)


def _outcome_label(task: Task) -> str:
    """Offered when completing a call, email or meeting that belongs to a record."""
    if task.kind not in Task.CONTACT_KINDS:
        return ""
    if task.lead_id:
        return OUTCOME_LABEL.format(record="lead")
    if task.deal_id:
        return OUTCOME_LABEL.format(record="deal")
    return ""


def _record_from(request: HttpRequest, user: User) -> tuple[Lead | None, Deal | None]:
    """The lead or deal named by ``?lead=`` / ``?deal=`` (or the form), if visible."""
    lead_id = request.POST.get("lead") or request.GET.get("lead") or ""
    deal_id = request.POST.get("deal") or request.GET.get("deal") or ""
    lead_pk, deal_pk = parse_id(lead_id), parse_id(deal_id)
    if (lead_id and lead_pk is None) or (deal_id and deal_pk is None):
        raise BadRequest(BAD_RECORD_ID)
    if lead_pk is not None:
        return get_object_or_404(Lead.objects.visible_to(user), pk=lead_pk), None
    if deal_pk is not None:
        return None, get_object_or_404(Deal.objects.visible_to(user), pk=deal_pk)
    return None, None


@login_required
@vary_on_headers("HX-Request")
def task_create(request: HttpRequest) -> HttpResponse:
    """A standalone task, or one for ``?lead=<id>`` / ``?deal=<id>`` (the record pages'
    panel posts here; with htmx the panel is swapped, without it the page is reloaded)."""
    user = _user(request)
    lead, deal = _record_from(request, user)
    record: Any = lead or deal
    people = people_for(user) if lead_services.can_assign(user) else []
    initial = {"assignee": _default_assignee(user, record, people)}
    form = TaskForm(request.POST or None, people=people, initial=initial)
    in_panel = record is not None and request.POST.get("part") == "panel" and _is_htmx(request)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            task = services.task_create(
                actor=user,
                title=data["title"],
                kind=data["kind"],
                due_at=data["due_at"],
                assignee=_person(data.get("assignee"), user),
                lead=lead,
                deal=deal,
                notes=data["notes"],
                remind_before=data["remind_before"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            done = f"Task “{task.title}” added, due {_local(task.due_at)}."
            if in_panel:
                return render_panel(request, record, notice=done)
            messages.success(request, done)
            return redirect(record or task)
    if in_panel:
        return render_panel(request, record, form=form)
    context = {"form": form, "record": record, "lead": lead, "deal": deal}
    return render(request, "tasks/task_form.html", context)


def _default_assignee(user: User, record: Any, people: list[tuple[int, str]]) -> int:
    """The record's owner when the user may give it to them; else the user."""
    owner_id = getattr(record, "owner_id", None)
    if owner_id and any(pk == owner_id for pk, _ in people):
        return int(owner_id)
    return user.pk


def _person(pk: int | None, user: User) -> User:
    if pk is None or pk == user.pk:
        return user
    return User.objects.get(pk=pk)  # one of the form's choices: a person the user sees


@login_required
def task_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    task = _task_or_404(request, pk)
    if task.is_done:
        messages.error(request, services.TASK_ALREADY_DONE + " Reopen it to change it.")
        return redirect(task)
    initial = {
        "title": task.title,
        "kind": task.kind,
        "due_at": safe_localtime(task.due_at),
        "remind_before": "" if task.remind_before is None else str(task.remind_before),
        "notes": task.notes,
        "version": task.version,
    }
    form = TaskForm(request.POST or None, editing=task, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.task_update(
                task=task,
                actor=user,
                expected_version=data["version"],
                **{name: data[name] for name in services.TASK_FIELDS},
            )
        except services.TaskConflict as conflict:
            form.add_error(None, f"{services.TASK_CONFLICT} Check it; saving again keeps yours.")
            keep_input_at_version(form, request, conflict.task.version)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, "Task saved.")
            return redirect(task)
    return render(request, "tasks/task_form.html", {"form": form, "task": task})


# --- One-click actions -----------------------------------------------------------------------


def _act(
    request: HttpRequest, task: Task, action: Callable[[], Any], success: Callable[[], str]
) -> HttpResponse:
    """Run a service and answer: the swapped row or panel for htmx, else a redirect back
    with a message. A refusal is shown where the user clicked, never a 500."""
    error = ""
    try:
        action()
    except services.TaskConflict:
        error = f"{services.TASK_CONFLICT} Reload to see the latest."
    except ValidationError as refusal:
        error = " ".join(refusal.messages)
    notice = "" if error else success()
    part = request.POST.get("part", "")
    if _is_htmx(request) and part == "panel" and task.record is not None:
        return render_panel(request, task.record, notice=notice, error=error)
    if _is_htmx(request) and part == "row":
        return render_row(request, task.pk, notice=notice, error=error)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, notice)
    return _back(request, task.get_absolute_url())


def render_row(request: HttpRequest, pk: int, *, notice: str = "", error: str = "") -> HttpResponse:
    user = _user(request)
    task = Task.objects.visible_to(user).for_list().select_related("done_by").filter(pk=pk).first()
    if task is None:  # handed to someone whose tasks this user does not see
        return HttpResponse(
            format_html('<tr id="task-{}"><td colspan="6">{}</td></tr>', pk, notice or error)
        )
    can_assign = lead_services.can_assign(user)
    context = {
        "task": attach_reminder_problems([task])[0],
        "people": people_for(user) if can_assign else [],
        "can_assign": can_assign,
        "now": timezone.now(),
        "row_notice": notice,
        "row_error": error,
        "next": request.POST.get("next", ""),
    }
    return render(request, "tasks/task_list.html#row", context)


def _bad(message: str) -> Callable[[], Any]:
    def refuse() -> None:
        raise ValidationError(message)

    return refuse


@login_required
@require_POST
def task_complete(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    task = _task_or_404(request, pk)
    form = CompleteForm(request.POST)
    if not form.is_valid():
        return _act(request, task, _bad(refusal(form, COMPLETE_BAD_INPUT)), lambda: "")
    outcome = form.cleaned_data["outcome"]
    version = form.cleaned_data["version"]
    logged = bool(outcome.strip()) and bool(_outcome_label(task))

    def success() -> str:
        if logged:
            where = "lead" if task.lead_id else "deal"
            return f"Done: “{task.title}”. The outcome is on the {where}'s timeline."
        return f"Done: “{task.title}”."

    completed = []

    def complete() -> None:
        completed.append(
            services.task_complete(task=task, actor=user, outcome=outcome, expected_version=version)
        )

    response = _act(request, task, complete, success)
    # The outcome became a note on the record's timeline: an htmx panel swap would not
    # show it, so the record page reloads (and shows the message).
    if completed and logged and _is_htmx(request) and request.POST.get("part") == "panel":
        messages.success(request, success())
        response["HX-Refresh"] = "true"
    return response


@login_required
@require_POST
def task_reopen(request: HttpRequest, pk: int) -> HttpResponse:
    task = _task_or_404(request, pk)
    form = ReopenForm(request.POST)
    if not form.is_valid():
        return _act(request, task, _bad(VERSION_MISSING), lambda: "")
    version = form.cleaned_data["version"]
    return _act(
        request,
        task,
        lambda: services.task_reopen(task=task, actor=_user(request), expected_version=version),
        lambda: f"Reopened: “{task.title}”.",
    )


@login_required
@require_POST
def task_reschedule(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    task = _task_or_404(request, pk)
    form = RescheduleForm(request.POST)
    if not form.is_valid():
        return _act(request, task, _bad(refusal(form, RESCHEDULE_BAD_INPUT)), lambda: "")
    due = form.new_due(task)
    version = form.cleaned_data["version"]
    return _act(
        request,
        task,
        lambda: services.task_reschedule(
            task=task, actor=user, due_at=due, expected_version=version
        ),
        lambda: f"Rescheduled: “{task.title}” is due {_local(due)}.",
    )


@login_required
@require_POST
def task_reassign(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    task = _task_or_404(request, pk)
    if not lead_services.can_assign(user):
        return _act(request, task, _bad(services.TASK_ASSIGN_NOT_ALLOWED), lambda: "")
    form = ReassignForm(request.POST, people=people_for(user))
    if not form.is_valid():
        return _act(request, task, _bad(refusal(form, REASSIGN_BAD_INPUT)), lambda: "")
    assignee = User.objects.get(pk=form.cleaned_data["assignee"])
    version = form.cleaned_data["version"]
    return _act(
        request,
        task,
        lambda: services.task_reassign(
            task=task, actor=user, assignee=assignee, expected_version=version
        ),
        lambda: f"“{task.title}” is now {assignee}'s.",
    )


# --- The tasks panel of a lead or deal page --------------------------------------------------


def open_tasks_column(user: User, record_field: str) -> ArraySubquery:
    """The record's open tasks that the user sees, as an array column of the record's own
    query, so the panel costs the detail page no query of its own."""
    tasks = (
        Task.objects.visible_to(user)
        .open()
        .filter(**{record_field: OuterRef("pk")})
        .order_by("due_at", "id")
        .annotate(
            row=JSONObject(
                id="id",
                title="title",
                kind="kind",
                due_at="due_at",
                remind_before="remind_before",
                remind_at="remind_at",
                reminder_state="reminder_state",
                version="version",
                assignee_id="assignee_id",
                first_name=F("assignee__first_name"),
                last_name=F("assignee__last_name"),
                email=F("assignee__email"),
            )
        )
        .values("row")[:PANEL_LIMIT]
    )
    return ArraySubquery(tasks)


def _moment(value: str) -> datetime:
    moment = parse_datetime(value)
    if moment is None:
        raise ValueError(f"Not a timestamp: {value!r}")
    return moment


def tasks_from_rows(rows: list[dict[str, Any]] | None, record: Any) -> list[Task]:
    """Tasks (with their assignee) from ``open_tasks_column``'s rows."""
    field = "lead" if isinstance(record, Lead) else "deal"
    tasks = []
    for row in rows or []:
        assignee = User(
            pk=row["assignee_id"],
            first_name=row["first_name"],
            last_name=row["last_name"],
            email=row["email"],
        )
        task = Task(
            pk=row["id"],
            title=row["title"],
            kind=row["kind"],
            due_at=_moment(row["due_at"]),
            remind_before=row["remind_before"],
            remind_at=_moment(row["remind_at"]) if row["remind_at"] else None,
            reminder_state=row["reminder_state"],
            version=row["version"],
            assignee=assignee,
            **{field: record},
        )
        tasks.append(task)
    return tasks


@dataclass
class Panel:
    """What ``tasks/_panel.html`` shows for one lead or deal."""

    record: Any
    kind: str  # "lead" or "deal"
    tasks: list[Task]
    form: TaskForm
    can_add: bool
    create_url: str
    notice: str = ""
    error: str = ""

    @property
    def outcome_label(self) -> str:
        return OUTCOME_LABEL.format(record=self.kind)


def task_panel(
    user: User,
    record: Any,
    tasks: list[Task],
    *,
    owners: list[tuple[int, str]] | None = None,
    form: TaskForm | None = None,
    notice: str = "",
    error: str = "",
) -> Panel:
    """``owners``: who the user may pick as assignee (the page's choices, when it has
    them loaded already); only offered to those who may assign."""
    kind = "lead" if isinstance(record, Lead) else "deal"
    is_open = record.is_open if kind == "lead" else record.closed_at is None
    people = (
        (owners if owners is not None else people_for(user))
        if lead_services.can_assign(user)
        else []
    )
    if form is None:
        form = TaskForm(
            people=people, initial={"assignee": _default_assignee(user, record, people)}
        )
    return Panel(
        record=record,
        kind=kind,
        tasks=tasks,
        form=form,
        can_add=is_open and lead_services.can_work_on(user, record),
        create_url=f"{reverse('tasks:create')}?{kind}={record.pk}",
        notice=notice,
        error=error,
    )


def render_panel(
    request: HttpRequest,
    record: Any,
    *,
    form: TaskForm | None = None,
    notice: str = "",
    error: str = "",
) -> HttpResponse:
    user = _user(request)
    field = "lead" if isinstance(record, Lead) else "deal"
    tasks = list(
        Task.objects.visible_to(user)
        .open()
        .filter(**{field: record})
        .select_related("assignee")
        .order_by("due_at", "id")[:PANEL_LIMIT]
    )
    panel = task_panel(user, record, tasks, form=form, notice=notice, error=error)
    return render(request, "tasks/_panel.html", {"panel": panel, "now": timezone.now()})
