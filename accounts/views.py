from datetime import timedelta
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts import services
from accounts.forms import ApiTokenForm, ProfileForm
from accounts.models import User

TOKEN_CREATED = "Token “{name}” created. Copy it now: it is not shown again."  # noqa: S105
TOKEN_REVOKED = "Token “{name}” revoked: it no longer works."  # noqa: S105


def _profile_page(request: HttpRequest, user: User, **context: Any) -> HttpResponse:
    context.setdefault("form", ProfileForm(instance=user))
    context.setdefault("token_form", ApiTokenForm())
    context["teams"] = user.teams.all()
    context["tokens"] = list(user.api_tokens.all())
    return render(request, "accounts/profile.html", context)


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    user = cast(User, request.user)
    form = ProfileForm(request.POST or None, instance=user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Your profile was saved.")
        return redirect("profile")
    return _profile_page(request, user, form=form)


@login_required
@require_POST
def api_token_create(request: HttpRequest) -> HttpResponse:
    """Make a token and show it on this answer only: it is not stored (only its hash), and
    is kept out of the session and the messages so that it is never stored anywhere."""
    user = cast(User, request.user)
    form = ApiTokenForm(request.POST)
    if not form.is_valid():
        return _profile_page(request, user, token_form=form)
    days = form.cleaned_data["expires_days"]
    try:
        token, secret = services.api_token_create(
            user=user,
            name=form.cleaned_data["name"],
            scope=form.cleaned_data["scope"],
            expires_at=timezone.now() + timedelta(days=days) if days else None,
        )
    except ValidationError as error:
        form.add_error(None, error)
        return _profile_page(request, user, token_form=form)
    messages.success(request, TOKEN_CREATED.format(name=token.name))
    return _profile_page(request, user, new_token=secret, new_token_id=token.pk)


@login_required
@require_POST
def api_token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    """Revoke one of your own tokens (anyone else's is a 404)."""
    user = cast(User, request.user)
    token = get_object_or_404(user.api_tokens, pk=pk)
    try:
        services.api_token_revoke(token=token)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, TOKEN_REVOKED.format(name=token.name))
    return redirect("profile")
