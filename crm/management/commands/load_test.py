"""A bounded load scenario against gunicorn on loopback: reps open lists, search, open leads,
log notes and move deals; managers open the dashboard; visitors send the web form.

``manage.py load_test --seconds 60 --users 20`` starts gunicorn (production settings, this
process's database and broker, ``--workers``) on a free loopback port, or uses
``--url`` of one already running, signs the virtual users in by making their sessions
(no password needed), runs them for the given time, and prints requests/s and the
p50 / p95 / p99 latency of each page. Each virtual user waits for its answer before the
next request (a closed loop, no think time), so the figures say what the server does at
that concurrency. Every write goes through the pages' own forms; run it on a copy, not on
a team's data: it adds notes, moves deals and makes leads.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import httpx
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections

from accounts.models import User
from accounts.roles import Role
from leads.webforms.models import WebForm

SEARCH_TERMS = ["an", "lee", "inc", "smith", "tech", "co", "jo", "ma", "sa", "gmbh"]
# What a rep does, by weight.
REP_MIX = [
    ("lead list", 30),
    ("lead search", 15),
    ("lead detail", 25),
    ("log note", 10),
    ("deal list", 10),
    ("move deal", 10),
]
LEAD_LINK = re.compile(r'href="/leads/(\d+)/"')
DEAL_LINK = re.compile(r'href="/deals/(\d+)/"')


class Forms(HTMLParser):
    """The forms of a page: action, hidden/text inputs, and the submit buttons' name/value."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(
                {"action": a.get("action", ""), "inputs": {}, "buttons": [], "fields": []}
            )
        elif not self.forms:
            return
        elif tag == "input" and a.get("name"):
            self.forms[-1]["inputs"][a["name"]] = a.get("value", "")
            self.forms[-1]["fields"].append((a["name"], a.get("type", "text"), "required" in a))
        elif tag in ("textarea", "select") and a.get("name"):
            self.forms[-1]["fields"].append((a["name"], tag, "required" in a))
        elif tag == "button" and a.get("name"):
            self.forms[-1]["buttons"].append((a["name"], a.get("value", ""), a.get("class", "")))


@dataclass
class Results:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, page: str, seconds: float, ok: bool) -> None:
        self.latencies[page].append(seconds)
        if not ok:
            self.errors[page] += 1

    def summary(self, elapsed: float) -> dict[str, Any]:
        pages = {}
        for page, values in sorted(self.latencies.items()):
            ordered = sorted(values)
            cuts = (
                statistics.quantiles(ordered, n=100, method="inclusive")
                if len(ordered) > 1
                else ordered * 99
            )
            pages[page] = {
                "requests": len(ordered),
                "errors": self.errors.get(page, 0),
                "p50_ms": round(cuts[49] * 1000, 1),
                "p95_ms": round(cuts[94] * 1000, 1),
                "p99_ms": round(cuts[98] * 1000, 1),
            }
        total = sum(len(v) for v in self.latencies.values())
        return {
            "seconds": round(elapsed, 1),
            "requests": total,
            "requests_per_second": round(total / elapsed, 1) if elapsed else 0.0,
            "errors": sum(self.errors.values()),
            "pages": pages,
        }


class VirtualUser:
    def __init__(self, client: httpx.AsyncClient, cookie: str, csrf: str, results: Results) -> None:
        self.client, self.results = client, results
        self.headers = {"Cookie": cookie, "X-CSRFToken": csrf}
        self.csrf = csrf
        self.lead_ids: list[int] = []
        self.deal_ids: list[int] = []

    async def request(
        self, page: str, method: str, url: str, **kwargs: Any
    ) -> httpx.Response | None:
        started = time.perf_counter()
        try:
            response = await self.client.request(method, url, headers=self.headers, **kwargs)
        except httpx.HTTPError:
            self.results.add(page, time.perf_counter() - started, ok=False)
            return None
        ok = response.status_code < 400 and not response.headers.get("location", "").startswith(
            "/accounts/login"
        )
        self.results.add(page, time.perf_counter() - started, ok=ok)
        return response

    async def lead_list(self, query: str = "") -> None:
        page = "lead search" if query else "lead list"
        response = await self.request(
            page, "GET", "/leads/", params={"q": query} if query else None
        )
        if response is not None and not self.lead_ids:
            self.lead_ids = [int(pk) for pk in LEAD_LINK.findall(response.text)]

    async def deal_list(self) -> None:
        response = await self.request("deal list", "GET", "/deals/")
        if response is not None:
            self.deal_ids = [int(pk) for pk in DEAL_LINK.findall(response.text)] or self.deal_ids

    async def step(self, action: str) -> None:
        if action == "lead list":
            await self.lead_list()
        elif action == "lead search":
            await self.lead_list(random.choice(SEARCH_TERMS))  # noqa: S311
        elif action == "lead detail" and self.lead_ids:
            await self.request("lead detail", "GET", f"/leads/{random.choice(self.lead_ids)}/")  # noqa: S311
        elif action == "log note" and self.lead_ids:
            pk = random.choice(self.lead_ids)  # noqa: S311
            data = {
                "csrfmiddlewaretoken": self.csrf,
                "kind": "call",
                "body": "Called, left a message.",
                "outcome": "",
                "next_step": "",
            }
            await self.request("log note", "POST", f"/leads/{pk}/notes/", data=data)
        elif action == "deal list":
            await self.deal_list()
        elif action == "move deal" and self.deal_ids:
            await self.move_deal(random.choice(self.deal_ids))  # noqa: S311
        elif action in ("lead detail", "log note"):
            await self.lead_list()
        elif action == "move deal":
            await self.deal_list()

    async def move_deal(self, pk: int) -> None:
        response = await self.request("deal detail", "GET", f"/deals/{pk}/")
        if response is None or response.status_code != 200:
            return
        moves = [
            (form["inputs"].get("version", ""), value)
            for form in Forms(response.text).forms
            if form["action"].endswith(f"/deals/{pk}/stage/")
            for name, value, css in form["buttons"]
            if name == "stage" and "outline-primary" in css  # open stages: not won, not lost
        ]
        if moves:
            version, stage = random.choice(moves)  # noqa: S311
            data = {"csrfmiddlewaretoken": self.csrf, "version": version, "stage": stage}
            await self.request("move deal", "POST", f"/deals/{pk}/stage/", data=data)


async def rep_loop(user: VirtualUser, deadline: float) -> None:
    actions, weights = zip(*REP_MIX, strict=True)
    await user.lead_list()
    while time.monotonic() < deadline:
        await user.step(random.choices(actions, weights)[0])  # noqa: S311


async def manager_loop(user: VirtualUser, deadline: float) -> None:
    while time.monotonic() < deadline:
        await user.request("dashboard", "GET", "/dashboard/")
        await user.lead_list()


async def visitor_loop(
    client: httpx.AsyncClient, slug: str, results: Results, deadline: float, fill_seconds: float
) -> None:
    visitor = VirtualUser(client, "", "", results)
    number = 0
    while time.monotonic() < deadline:
        response = await visitor.request("web form", "GET", f"/f/{slug}/")
        if response is None or response.status_code != 200:
            await asyncio.sleep(0.5)
            continue
        forms = [f for f in Forms(response.text).forms if f["action"] in ("", f"/f/{slug}/")]
        if not forms:
            continue
        form = forms[0]
        number += 1
        data = dict(form["inputs"])
        for name, kind, _ in form["fields"]:
            if name == "nickname" or kind == "hidden":
                continue
            if kind == "checkbox":
                data[name] = "on"
            elif "email" in name:
                data[name] = f"visitor{os.getpid()}-{id(visitor)}-{number}@example.com"
            elif "phone" in name:
                data[name] = "+1 415 555 0100"
            elif kind == "select":
                data.pop(name, None)
            else:
                data[name] = "Load Test"
        await asyncio.sleep(fill_seconds)  # a person takes a moment to fill it in
        if time.monotonic() >= deadline:
            break
        await visitor.request("web form send", "POST", f"/f/{slug}/", data=data)


def session_cookie(user: User) -> str:
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[-1]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return str(session.session_key)


def replica_statements() -> dict[str, dict[str, int]]:
    found = {}
    for alias in settings.DATABASE_REPLICAS:
        with connections[alias].cursor() as cursor:
            cursor.execute(
                "SELECT xact_commit + xact_rollback, tup_returned + tup_fetched"
                " FROM pg_stat_database WHERE datname = current_database()"
            )
            transactions, rows = cursor.fetchone()
        found[alias] = {"transactions": int(transactions), "rows": int(rows)}
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def gunicorn(workers: int, threads: int, env: dict[str, str]) -> Iterator[str]:
    from crm.workers import database_url

    port = free_port()
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "crm.settings.production",
        # The sessions made here are signed with this process's key: the server needs it.
        "SECRET_KEY": settings.SECRET_KEY,
        "DATABASE_URL": database_url(),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "LOG_LEVEL": "WARNING",
        **env,
    }
    # Production serves hashed static files from STATIC_ROOT (as the Docker image does).
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        env=environment,
        cwd=settings.BASE_DIR,
        check=True,
    )
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "crm.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--access-logfile",
        "-" if env.get("LOAD_ACCESS_LOG") else "/dev/null",
    ]
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        command, env=environment, cwd=settings.BASE_DIR, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise CommandError(f"gunicorn exited with {process.returncode}")
            try:
                if httpx.get(f"{url}/healthz", timeout=5).status_code in (200, 503):
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise CommandError("gunicorn did not answer /healthz within a minute")
            time.sleep(0.2)
        yield url
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


class Command(BaseCommand):
    help = __doc__.split("\n\n")[0]

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--seconds", type=float, default=60, help="How long to run (default 60)."
        )
        parser.add_argument(
            "--users", type=int, default=20, help="Virtual users at once (default 20)."
        )
        parser.add_argument(
            "--url", help="A server already running (default: start gunicorn here)."
        )
        parser.add_argument(
            "--workers", type=int, default=2 * (os.cpu_count() or 1) + 1, help="gunicorn workers."
        )
        parser.add_argument("--threads", type=int, default=1, help="gunicorn threads per worker.")
        parser.add_argument(
            "--webform",
            help="The slug of the web form visitors send (default: the first active one).",
        )
        parser.add_argument("--json", action="store_true", help="Print the figures as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request otherwise
        active = User.objects.filter(is_active=True, is_superuser=False)
        reps = list(active.filter(groups__name=Role.REP.value, leads__isnull=False).distinct()[:50])
        managers = list(active.filter(groups__name=Role.MANAGER.value)[:10])
        if not reps:
            raise CommandError(
                "No active rep owns a lead: seed some data first (seed_demo, generate_leads)."
            )
        form = WebForm.objects.filter(is_active=True)
        form = form.filter(slug=options["webform"]) if options["webform"] else form.order_by("pk")
        slug = form.values_list("slug", flat=True).first()
        users = options["users"]
        # About 70 % reps, 15 % managers (if any), 15 % web-form visitors (if a form exists).
        n_managers = max(1, users * 15 // 100) if managers and users > 2 else 0
        n_visitors = max(1, users * 15 // 100) if slug and users > 2 else 0
        n_reps = max(1, users - n_managers - n_visitors)
        csrf = secrets.token_hex(16)  # an unmasked CSRF secret is a valid token too
        cookies = [(f"sessionid={session_cookie(u)}; csrftoken={csrf}") for u in reps]
        manager_cookies = [(f"sessionid={session_cookie(u)}; csrftoken={csrf}") for u in managers]
        replicas_before = replica_statements()
        if options["url"]:
            summary = self.run(
                options["url"],
                options,
                n_reps,
                n_managers,
                n_visitors,
                cookies,
                manager_cookies,
                csrf,
                slug,
            )
        else:
            # The visitors come from one address: lift the per-address limit (not the form's).
            env = {
                "WEBFORM_RATE_PER_ADDRESS": "1000000",
                "WEBFORM_MIN_FILL_SECONDS": str(settings.WEBFORM_MIN_FILL_SECONDS),
            }
            with gunicorn(options["workers"], options["threads"], env) as url:
                summary = self.run(
                    url,
                    options,
                    n_reps,
                    n_managers,
                    n_visitors,
                    cookies,
                    manager_cookies,
                    csrf,
                    slug,
                )
        summary["users"] = {"reps": n_reps, "managers": n_managers, "visitors": n_visitors}
        # What each replica served meanwhile (its own statistics): the router sent reads there.
        summary["replicas"] = {
            alias: {key: after[key] - replicas_before[alias][key] for key in after}
            for alias, after in replica_statements().items()
        }
        if options["json"]:
            self.stdout.write(json.dumps(summary, indent=2))
            return
        rate, errors = summary["requests_per_second"], summary["errors"]
        self.stdout.write(
            f"{summary['requests']} requests in {summary['seconds']} s: {rate} req/s, "
            f"{errors} errors ({n_reps} reps, {n_managers} managers, {n_visitors} visitors)"
        )
        for alias, served in summary["replicas"].items():
            self.stdout.write(
                f"{alias} served {served['transactions']} transactions, {served['rows']} rows"
            )
        self.stdout.write(
            f"{'page':<16}{'requests':>9}{'errors':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
        )
        for page, row in summary["pages"].items():
            self.stdout.write(
                f"{page:<16}{row['requests']:>9}{row['errors']:>8}{row['p50_ms']:>9}{row['p95_ms']:>9}{row['p99_ms']:>9}"
            )

    def run(
        self,
        url: str,
        options: dict[str, Any],
        n_reps: int,
        n_managers: int,
        n_visitors: int,
        cookies: list[str],
        manager_cookies: list[str],
        csrf: str,
        slug: str | None,
    ) -> dict[str, Any]:
        results = Results()
        fill_seconds = float(settings.WEBFORM_MIN_FILL_SECONDS) + 0.1

        async def main() -> float:
            limits = httpx.Limits(max_connections=n_reps + n_managers + n_visitors + 4)
            async with httpx.AsyncClient(
                base_url=url, timeout=60, limits=limits, follow_redirects=False
            ) as client:
                started = time.monotonic()
                deadline = started + options["seconds"]
                loops = [
                    rep_loop(
                        VirtualUser(client, cookies[i % len(cookies)], csrf, results), deadline
                    )
                    for i in range(n_reps)
                ]
                loops += [
                    manager_loop(
                        VirtualUser(
                            client, manager_cookies[i % len(manager_cookies)], csrf, results
                        ),
                        deadline,
                    )
                    for i in range(n_managers)
                ]
                if slug:
                    loops += [
                        visitor_loop(client, slug, results, deadline, fill_seconds)
                        for _ in range(n_visitors)
                    ]
                await asyncio.gather(*loops)
                return time.monotonic() - started

        # Its own thread, so its own event loop: the caller's thread may be running one
        # already (a test process that also drives Playwright's sync API).
        with ThreadPoolExecutor(max_workers=1) as pool:
            elapsed = pool.submit(asyncio.run, main()).result()
        return results.summary(elapsed)
