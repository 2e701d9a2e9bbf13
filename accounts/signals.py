from typing import Any

from django.contrib import messages
from django.contrib.auth.signals import user_logged_out
from django.dispatch import receiver
from django.http import HttpRequest


@receiver(user_logged_out)
def say_goodbye(sender: Any, request: HttpRequest | None, **kwargs: Any) -> None:
    if request is not None:
        messages.info(request, "You are signed out.")
