"""Personal access tokens: made with a hash and a prefix only, shown once; expiry,
revocation, scopes and deactivated users; ``last_used_at`` written at most once a minute;
the profile page and the ``api_token`` command."""

from __future__ import annotations

import re
from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import ApiToken, User, hash_token
from accounts.services import TOKEN_ALREADY_REVOKED, api_token_create, api_token_revoke
from crm.api import auth
from tests.api.conftest import Api, problem_of, token_for
from tests.factories import make_lead

pytestmark = pytest.mark.django_db

SHAPE = re.compile(r"crm_[0-9a-f]{8}_[A-Za-z0-9_-]{43}")


def test_a_token_is_stored_as_its_hash_and_prefix_only(rep: User) -> None:
    token, secret = api_token_create(user=rep, name="  Website   sync ", scope="write")
    assert SHAPE.fullmatch(secret)
    token.refresh_from_db()
    assert token.name == "Website sync"
    assert token.token_hash == hash_token(secret)
    assert secret.startswith(f"crm_{token.prefix}_")
    assert secret not in {str(value) for value in ApiToken.objects.values_list().get()}
    assert token.display_prefix == f"crm_{token.prefix}_…"
    assert Api(secret).get("/users").status_code == 200


@pytest.mark.parametrize(
    "header",
    [
        "Bearer crm_00000000_" + "a" * 43,  # well-formed, unknown
        "Bearer nonsense",
        "Bearer ",
    ],
)
def test_an_unknown_or_malformed_token_is_401(rep: User, header: str) -> None:
    api_token_create(user=rep, name="Real")
    response = Client().get("/api/v1/leads", headers={"Authorization": header})
    assert response.status_code == 401
    assert problem_of(response)["code"] == "token_invalid"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_right_prefix_with_a_wrong_secret_is_401(rep: User) -> None:
    secret = token_for(rep)
    forged = secret[:14] + ("A" if secret[14] != "A" else "B") + secret[15:]
    response = Api(forged).get("/leads")
    assert response.status_code == 401
    assert problem_of(response)["detail"] == auth.TOKEN_INVALID


def test_no_credentials_is_401_naming_both_ways_in() -> None:
    response = Client().get("/api/v1/leads")
    assert response.status_code == 401
    body = problem_of(response)
    assert body["code"] == "not_authenticated"
    assert "Bearer" in body["detail"]


def test_another_scheme_is_401(rep: User) -> None:
    response = Client().get("/api/v1/leads", headers={"Authorization": "Basic dXNlcjpwdw=="})
    assert response.status_code == 401
    assert problem_of(response)["code"] == "not_bearer"


def test_an_expired_token_is_401(rep: User) -> None:
    secret = token_for(rep, expires_at=timezone.now() + timedelta(days=1))
    assert Api(secret).get("/leads").status_code == 200
    with time_machine.travel(timezone.now() + timedelta(days=1, seconds=1)):
        response = Api(secret).get("/leads")
    assert response.status_code == 401
    assert problem_of(response)["code"] == "token_expired"


def test_a_revoked_token_is_401(rep: User) -> None:
    token, secret = api_token_create(user=rep, name="Old")
    api_token_revoke(token=token)
    response = Api(secret).get("/leads")
    assert response.status_code == 401
    assert problem_of(response) == {
        "detail": auth.TOKEN_REVOKED,
        "code": "token_revoked",
        "field_errors": {},
    }
    with pytest.raises(Exception, match=TOKEN_ALREADY_REVOKED):
        api_token_revoke(token=token)


def test_a_deactivated_users_token_stops_working(rep: User) -> None:
    secret = token_for(rep)
    User.objects.filter(pk=rep.pk).update(is_active=False)
    response = Api(secret).get("/leads")
    assert response.status_code == 401
    assert problem_of(response)["detail"] == auth.TOKEN_USER_INACTIVE


def test_a_read_token_reads_but_may_not_write(rep: User) -> None:
    lead = make_lead(rep, owner=rep)
    api = Api(token_for(rep, scope=ApiToken.Scope.READ))
    assert api.get(f"/leads/{lead.pk}").status_code == 200
    for response in (
        api.post("/leads", {"first_name": "New", "email": "new@example.com"}),
        api.patch(f"/leads/{lead.pk}", {"company": "X"}, **{"If-Match": '"1"'}),
        api.post(f"/leads/{lead.pk}/notes", {"body": "Hello"}),
    ):
        assert response.status_code == 403
        assert problem_of(response) == {
            "detail": auth.READ_ONLY_TOKEN,
            "code": "insufficient_scope",
            "field_errors": {},
        }
    lead.refresh_from_db()
    assert lead.version == 1
    assert not lead.notes.exists()


def test_last_used_is_written_at_most_once_a_minute(
    rep: User, django_assert_num_queries: object
) -> None:
    token, secret = api_token_create(user=rep, name="Script")
    api = Api(secret)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        api.get("/tags")
    token.refresh_from_db()
    assert token.last_used_at == start
    with time_machine.travel(start + timedelta(seconds=59), tick=False):
        api.get("/tags")
    token.refresh_from_db()
    assert token.last_used_at == start  # no write within the minute
    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        api.get("/tags")
    token.refresh_from_db()
    assert token.last_used_at == start + timedelta(seconds=61)


# --- The profile page ----------------------------------------------------------------------


def _signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_profile_page_makes_a_token_and_shows_it_once(rep: User) -> None:
    client = _signed_in(rep)
    response = client.post(
        reverse("api_token_create"), {"name": "Zapier", "scope": "write", "expires_days": "30"}
    )
    page = response.content.decode()
    assert response.status_code == 200
    secret = SHAPE.search(page)[0]  # type: ignore[index]
    assert "Copy it now: it is not shown again." in page
    token = ApiToken.objects.get(user=rep)
    assert token.name == "Zapier"
    assert token.scope == "write"
    assert token.expires_at is not None
    assert timedelta(days=29) < token.expires_at - timezone.now() <= timedelta(days=30)
    assert Api(secret).get("/leads").status_code == 200
    again = client.get(reverse("profile")).content.decode()
    assert "Zapier" in again
    assert token.display_prefix in again
    assert secret not in again
    assert not SHAPE.search(again)


def test_the_profile_page_refuses_a_bad_token_form(rep: User) -> None:
    response = _signed_in(rep).post(
        reverse("api_token_create"), {"name": "", "scope": "admin", "expires_days": "99999"}
    )
    assert response.status_code == 200
    assert not ApiToken.objects.exists()
    assert "is-invalid" in response.content.decode()


def test_the_profile_page_revokes_only_ones_own_tokens(rep: User, rep_b: User) -> None:
    mine, secret = api_token_create(user=rep, name="Mine")
    theirs, _ = api_token_create(user=rep_b, name="Theirs")
    client = _signed_in(rep)
    assert client.post(reverse("api_token_revoke", args=[theirs.pk])).status_code == 404
    response = client.post(reverse("api_token_revoke", args=[mine.pk]), follow=True)
    assert "Token “Mine” revoked: it no longer works." in response.content.decode()
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.revoked_at is not None
    assert theirs.revoked_at is None
    assert Api(secret).get("/leads").status_code == 401


def test_the_token_forms_need_their_csrf_token(rep: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(rep)
    assert (
        client.post(reverse("api_token_create"), {"name": "X", "scope": "read"}).status_code == 403
    )
    assert not ApiToken.objects.exists()


# --- The command ---------------------------------------------------------------------------


def _run(*args: str) -> list[str]:
    out = StringIO()
    call_command("api_token", *args, stdout=out)
    return out.getvalue().splitlines()


def test_the_command_prints_a_working_token_on_its_last_line(rep: User) -> None:
    lines = _run(
        "create", rep.email.upper(), "--name", "Cron", "--scope", "write", "--expires-days", "7"
    )
    secret = lines[-1]
    assert SHAPE.fullmatch(secret)
    lead = make_lead(rep, owner=rep)
    response = Api(secret).patch(f"/leads/{lead.pk}", {"company": "Cron Co"}, **{"If-Match": '"1"'})
    assert response.status_code == 200
    token = ApiToken.objects.get()
    assert token.scope == "write"
    assert token.name == "Cron"
    assert token.expires_at is not None


def test_the_command_lists_and_revokes(rep: User, rep_b: User) -> None:
    _run("create", rep.email, "--name", "One")
    secret = _run("create", rep_b.email, "--name", "Two")[-1]
    listed = _run("list")
    assert len(listed) == 2
    assert all(SHAPE.search(line) is None for line in listed)
    only = _run("list", rep_b.email)
    assert len(only) == 1
    assert "Two" in only[0]
    assert "active" in only[0]
    token = ApiToken.objects.get(name="Two")
    assert _run("revoke", str(token.pk)) == [f"Revoked token {token.pk} “Two” of {rep_b.email}."]
    assert "revoked" in _run("list", rep_b.email)[0]
    assert Api(secret).get("/leads").status_code == 401
    with pytest.raises(CommandError, match="already revoked"):
        _run("revoke", str(token.pk))
    with pytest.raises(CommandError, match="No user"):
        _run("create", "nobody@example.com", "--name", "X")
    with pytest.raises(CommandError, match="expires-days"):
        _run("create", rep.email, "--name", "X", "--expires-days", "0")
