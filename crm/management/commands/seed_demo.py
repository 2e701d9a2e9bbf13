from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from accounts import demo
from crm.followups import demo as demo_tasks
from deals import demo as demo_deals
from deals.models import Deal, Stage
from leads import demo as demo_leads
from leads.inbound import demo as demo_inbound
from leads.models import Lead
from leads.scoring.services import rescore_all
from leads.webforms import demo as demo_webforms

DEFAULT_PASSWORD = "demo-crm-2026"  # noqa: S105  (a demo login, printed on purpose)


class Command(BaseCommand):
    help = "Create the demo team and demo data. Safe to run again: nothing is duplicated."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--password",
            default=DEFAULT_PASSWORD,
            help=f"Password for every demo login (default: {DEFAULT_PASSWORD}).",
        )

    def handle(self, *args: Any, password: str, **options: Any) -> None:
        users = demo.seed_users(password=password)
        by_email = {user.email: user for user in users}
        cast = {
            "admin": by_email["admin@example.com"],
            "manager": by_email["manager@example.com"],
            "rep1": by_email["rep1@example.com"],
            "rep2": by_email["rep2@example.com"],
        }
        created = demo_leads.seed_leads(**cast)
        # After the leads: the deals convert some of them, and make and convert more.
        deals, deal_leads = demo_deals.seed_deals(**cast)
        created += deal_leads
        demo_tasks.seed_tasks(**cast)  # follow-ups on those leads and deals
        buyer = (
            Deal.objects.filter(stage__kind=Stage.Kind.OPEN, contact__email__endswith=".example")
            .order_by("pk")
            .values_list("contact__email", flat=True)
            .first()
        )
        mailbox, mailed = demo_inbound.seed_mailbox(
            manager=cast["manager"], deal_contact=buyer or ""
        )
        created += mailed
        # The web form and the assignment rules that route what it brings.
        buyers = (
            Deal.objects.filter(stage__kind=Stage.Kind.OPEN, contact__email__endswith=".example")
            .order_by("pk")
            .values_list("contact__email", flat=True)
        )
        web_form, submitted = demo_webforms.seed_web_form(
            rep2=cast["rep2"], deal_contact=next(iter(buyers[1:2]), "")
        )
        created += submitted
        # The demo backdates its leads' activity after writing them: score them as of today
        # (the nightly run's work, decay included). A second seed changes no score.
        rescore_all()
        total = Lead.objects.count()
        made = f"{created} demo leads created" if created else "demo leads were already there"
        self.stdout.write(f"Leads: {total} in the database ({made}).")
        made = f"{deals} demo deals created" if deals else "demo deals were already there"
        self.stdout.write(f"Deals: {Deal.objects.count()} in the database ({made}).")
        self.stdout.write(mailbox)
        site = settings.SITE_URL.rstrip("/")
        self.stdout.write(
            f"Web form: {site}{web_form.get_absolute_url()} (“{web_form.name}”; its leads are "
            "routed by the rules under Admin → Assignment rules)."
        )
        self.stdout.write(self.style.SUCCESS("Demo data is ready. Sign in with:"))
        for user in users:
            role = user.role.label if user.role else "no role"
            self.stdout.write(f"  {user.email:<22} {password}   ({role})")
