"""The inbound endpoint: a raw RFC 822 message in, what became of it out (JSON)."""

from __future__ import annotations

from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from leads.inbound import services
from leads.inbound.services import NO_EMAIL_FIELD, Outcome

# Form fields that carry the whole message: SendGrid Inbound Parse ("POST the raw, full
# MIME message"), Mailgun's MIME route.
RAW_FIELDS = ("email", "body-mime")


def _answer(outcome: Outcome, status: int = 200) -> JsonResponse:
    return JsonResponse(outcome.as_json(), status=status)


@csrf_exempt  # authenticated by the token in the URL, posted by a mail provider
@require_POST
def receive_email(request: HttpRequest, token: str) -> JsonResponse:
    """Answers 200 for every message it stored, whatever became of it (a provider retries
    anything else), 413 above the size cap (what fits is stored), 404 for an unknown or
    inactive token."""
    mailbox = services.mailbox_for_token(token)
    if mailbox is None:
        raise Http404("No such mailbox.")
    length = int(request.META.get("CONTENT_LENGTH") or 0)
    if request.content_type == "multipart/form-data":
        # The form was read already (Django's parser, within DATA_UPLOAD_MAX_MEMORY_SIZE).
        raw: bytes | None = None
        for name in RAW_FIELDS:
            upload = request.FILES.get(name)
            if upload is not None:
                raw = upload.read(services.MAX_MESSAGE_BYTES + 1)
                break
            if name in request.POST:
                raw = request.POST[name].encode("utf-8", "surrogateescape")
                break
        if raw is None:
            body = {"status": "rejected", "inbound": None, "lead": None, "reason": NO_EMAIL_FIELD}
            return JsonResponse(body, status=400)
        if len(raw) > services.MAX_MESSAGE_BYTES:
            return _answer(services.inbound_email_receive(mailbox=mailbox, raw=raw), 413)
        return _answer(services.inbound_email_receive(mailbox=mailbox, raw=raw))
    # Read the stream directly: a message may be larger than DATA_UPLOAD_MAX_MEMORY_SIZE,
    # which bounds form data, not this endpoint. Above the cap, what fits is stored.
    raw = request.read(services.MAX_MESSAGE_BYTES + 1)
    size = max(length, len(raw))
    outcome = services.inbound_email_receive(mailbox=mailbox, raw=raw, size=size)
    return _answer(outcome, 413 if size > services.MAX_MESSAGE_BYTES else 200)
