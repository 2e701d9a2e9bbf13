"""The daily lead summary the manager dashboard reads instead of scanning every lead.

One row per day (the lead's creation day, in ``settings.TIME_ZONE``) × team × owner ×
source, with each outcome as a column rather than a row per status, so a year of a team
is a few thousand rows. The rows count leads by their *current* team, owner, status and
timestamps: when a lead moves team or changes status its counts move with it, exactly as
``Lead.objects.visible_to`` and the lead list see it.

The tables are written only by PostgreSQL triggers (``crm.dashboards.services``), never by
Python, so that every writer of leads — services, bulk imports, ``QuerySet.update``,
merges, the admin — keeps them right.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from accounts.models import OwnedQuerySet, Team
from leads.models import LostReason, Source

# Upper edges (minutes, exclusive) of the first-response histogram; the last bucket is
# "a week or more". Percentiles are read off the bucket they fall in.
RESPONSE_BUCKETS = [5, 15, 30, 60, 120, 240, 480, 1440, 2880, 4320, 10080]
BUCKET_FIELDS = [f"r{i}" for i in range(len(RESPONSE_BUCKETS) + 1)]

STATUS_FIELDS = {
    "new": "s_new",
    "not_contacted": "s_not_contacted",
    "contacted": "s_contacted",
    "qualified": "s_qualified",
    "unqualified": "s_unqualified",
    "converted": "s_converted",
    "lost": "s_lost",
    "junk": "s_junk",
    "canceled": "s_canceled",
}

# Every additive column of LeadDay and LeadPeriod, in the order the triggers write them.
COUNT_FIELDS = [
    "leads",
    *STATUS_FIELDS.values(),
    "reached_contacted",
    "reached_qualified",
    "responded",
    "response_seconds",
    "with_target",
    "within_target",
    *BUCKET_FIELDS,
]


class SummaryQuerySet(OwnedQuerySet):
    """Summary rows carry the lead's owner and team, so the one row-level rule of leads
    (``OwnedQuerySet.visible_to``) applies to them unchanged."""


class SummaryCounts(models.Model):
    """A summary row's key columns beside the day (or period) and its additive counts."""

    team = models.ForeignKey(Team, null=True, on_delete=models.DO_NOTHING, db_constraint=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.DO_NOTHING, db_constraint=False
    )
    source = models.ForeignKey(Source, null=True, on_delete=models.DO_NOTHING, db_constraint=False)
    leads = models.IntegerField(default=0)
    s_new = models.IntegerField(default=0)
    s_not_contacted = models.IntegerField(default=0)
    s_contacted = models.IntegerField(default=0)
    s_qualified = models.IntegerField(default=0)
    s_unqualified = models.IntegerField(default=0)
    s_converted = models.IntegerField(default=0)
    s_lost = models.IntegerField(default=0)
    s_junk = models.IntegerField(default=0)
    s_canceled = models.IntegerField(default=0)
    # Ever reached a step, whatever the lead's status now (a lost lead may have been
    # contacted): the funnel's steps.
    reached_contacted = models.IntegerField(default=0)
    reached_qualified = models.IntegerField(default=0)
    responded = models.IntegerField(default=0)
    response_seconds = models.BigIntegerField(default=0)
    # Responded leads that had a contact-by deadline, and those answered by it.
    with_target = models.IntegerField(default=0)
    within_target = models.IntegerField(default=0)
    r0 = models.IntegerField(default=0)
    r1 = models.IntegerField(default=0)
    r2 = models.IntegerField(default=0)
    r3 = models.IntegerField(default=0)
    r4 = models.IntegerField(default=0)
    r5 = models.IntegerField(default=0)
    r6 = models.IntegerField(default=0)
    r7 = models.IntegerField(default=0)
    r8 = models.IntegerField(default=0)
    r9 = models.IntegerField(default=0)
    r10 = models.IntegerField(default=0)
    r11 = models.IntegerField(default=0)

    objects = SummaryQuerySet.as_manager()

    class Meta:
        abstract = True


class LeadDay(SummaryCounts):
    day = models.DateField()

    class Meta:
        constraints = [
            # The triggers' ON CONFLICT target; NULL team/owner/source are one key each.
            models.UniqueConstraint(
                fields=["day", "team", "owner", "source"],
                name="leadday_key",
                nulls_distinct=False,
            )
        ]
        indexes = [models.Index(fields=["team", "day"], name="leadday_team_day_idx")]

    def __str__(self) -> str:
        return f"{self.day}: {self.leads} leads"


class LeadPeriod(SummaryCounts):
    """``LeadDay`` summed by week (from Monday) and by month, kept by the same triggers: a
    range reads its whole weeks or months here and only its ragged ends from ``LeadDay``
    (a year of every team: 13,000 rows instead of 90,000)."""

    class Grain(models.TextChoices):
        WEEK = "week"
        MONTH = "month"

    grain = models.CharField(max_length=5, choices=Grain.choices)
    start = models.DateField()  # the Monday, or the first of the month (local dates)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["grain", "start", "team", "owner", "source"],
                name="leadperiod_key",
                nulls_distinct=False,
            )
        ]
        indexes = [
            models.Index(fields=["grain", "team", "start"], name="leadperiod_team_start_idx")
        ]

    def __str__(self) -> str:
        return f"{self.grain} of {self.start}: {self.leads} leads"


class ReasonCounts(models.Model):
    """Lost and unqualified leads by reason, on a summary row's key."""

    team = models.ForeignKey(Team, null=True, on_delete=models.DO_NOTHING, db_constraint=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.DO_NOTHING, db_constraint=False
    )
    source = models.ForeignKey(Source, null=True, on_delete=models.DO_NOTHING, db_constraint=False)
    status = models.CharField(max_length=20)
    lost_reason = models.ForeignKey(
        LostReason, null=True, on_delete=models.DO_NOTHING, db_constraint=False
    )
    leads = models.IntegerField(default=0)

    objects = SummaryQuerySet.as_manager()

    class Meta:
        abstract = True


class LeadReasonDay(ReasonCounts):
    """On the same key as ``LeadDay``."""

    day = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "team", "owner", "source", "status", "lost_reason"],
                name="leadreasonday_key",
                nulls_distinct=False,
            )
        ]
        indexes = [models.Index(fields=["team", "day"], name="leadreasonday_team_day_idx")]

    def __str__(self) -> str:
        return f"{self.day}: {self.leads} {self.status}"


class LeadReasonMonth(ReasonCounts):
    """``LeadReasonDay`` summed by month (the first of the month, local), kept by the same
    triggers: lost and unqualified leads are sparse, one day row per lead or nearly, so a
    year of every team reads 31,000 month rows and its ragged ends instead of 123,000."""

    month = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["month", "team", "owner", "source", "status", "lost_reason"],
                name="leadreasonmonth_key",
                nulls_distinct=False,
            )
        ]
        indexes = [models.Index(fields=["team", "month"], name="leadreasonmonth_team_idx")]

    def __str__(self) -> str:
        return f"{self.month:%b %Y}: {self.leads} {self.status}"


class OpenLeads(models.Model):
    """Open leads now, by team × owner × source, for the dashboard's "needs attention"
    counts: those without a next action, and those still waiting for a first contact by
    the month their contact-by deadline falls in (``wait_month``, UTC; NULL for leads not
    waiting). Leads past their deadline = the months before this one, plus a live count of
    this month's (an index range of one month), so the figure is exact to the second."""

    team = models.ForeignKey(Team, null=True, on_delete=models.DO_NOTHING, db_constraint=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.DO_NOTHING, db_constraint=False
    )
    source = models.ForeignKey(Source, null=True, on_delete=models.DO_NOTHING, db_constraint=False)
    wait_month = models.DateField(null=True)
    leads = models.IntegerField(default=0)
    no_action = models.IntegerField(default=0)
    waiting = models.IntegerField(default=0)

    objects = SummaryQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["team", "owner", "source", "wait_month"],
                name="openleads_key",
                nulls_distinct=False,
            )
        ]

    def __str__(self) -> str:
        return f"{self.leads} open leads"
