from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from leads.models import Task


@login_required
def task_list(request: HttpRequest) -> HttpResponse:
    tasks = Task.objects.visible_to(request.user).open().for_list()[:50]
    return render(request, "tasks/task_list.html", {"tasks": tasks})


@login_required
def task_detail(request: HttpRequest, pk: int) -> HttpResponse:
    task = get_object_or_404(Task.objects.visible_to(request.user).for_list(), pk=pk)
    return render(request, "tasks/task_detail.html", {"task": task})
