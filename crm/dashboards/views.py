from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any, cast

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from accounts.models import Scope, User, access_scope
from crm.dashboards import charts
from crm.dashboards.deals import deal_figures
from crm.dashboards.exports import table_csv
from crm.dashboards.forms import DashboardForm
from crm.dashboards.selectors import lead_figures
from crm.dashboards.tables import Links, deal_tables, lead_tables
from deals.models import Deal
from leads.selectors import choices_for


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """Managers' team figures (admins: any team or all; reps: their own), for a range.

    An invalid filter shows its error in place and the page falls back to the default
    range, so a bad query string never costs a 500 or an empty page."""
    user = cast(User, request.user)
    choices = choices_for(user)
    form = DashboardForm(request.GET or None, user=user, choices=choices)
    sel = (
        form.selection() if form.is_bound else DashboardForm(user=user, choices=choices).selection()
    )
    leads = lead_figures(user, sel, choices)
    deals = Deal.objects.visible_to(user)
    if access_scope(user) == Scope.OWN:
        deals = deals.filter(owner_id=user.pk)
    if sel.team_id is not None:
        deals = deals.filter(team_id=sel.team_id)
    if sel.owner_id == 0:
        deals = deals.filter(owner__isnull=True)
    elif sel.owner_id is not None:
        deals = deals.filter(owner_id=sel.owner_id)
    if sel.source_id is not None:
        deals = deals.filter(source_lead__source_id=sel.source_id)
    # The range is whole local days, both inclusive; the deal side counts [start, end).
    dfig = deal_figures(
        deals,
        start=timezone.make_aware(datetime.combine(sel.start, time.min)),
        end=timezone.make_aware(datetime.combine(sel.end + timedelta(days=1), time.min)),
    )
    links = Links(sel, user.pk)
    tables = lead_tables(leads, links, sel)
    dtables = deal_tables(dfig, links)
    wanted = request.GET.get("csv")
    if wanted:
        table = tables.get(wanted) or dtables.get(wanted)
        if table is None:
            raise Http404("No such table.")
        return table_csv(table, sel)
    context: dict[str, Any] = {
        "form": form,
        "sel": sel,
        "scope": access_scope(user),
        "leads": leads,
        "deals": dfig,
        "t": tables,
        "dt": dtables,
        "charts": _charts(leads, dfig, sel),
        "query": request.GET.urlencode(),
    }
    return render(request, "dashboards/dashboard.html", context)


def _charts(leads: Any, deals: Any, sel: Any) -> dict[str, Any]:
    t = leads.total
    series = [(row.id, row.label) for row in leads.volume_sources]
    return {
        "volume": charts.stacked_columns(
            "Lead volume",
            leads.periods,
            series,
            leads.volume,
            "%b %Y" if sel.period == "month" else "%d %b",
        ),
        "funnel": charts.hbars(
            "Funnel",
            [
                ("Created", t.leads, str(t.leads)),
                ("Contacted", t.reached_contacted, str(t.reached_contacted)),
                ("Qualified", t.reached_qualified, str(t.reached_qualified)),
                ("Converted", t.s_converted, str(t.s_converted)),
            ],
        ),
        "conversion": charts.hbars(
            "Conversion rate per rep",
            [
                (r.label, r.counts.conversion_rate, _pct(r.counts.conversion_rate))
                for r in leads.by_owner
            ],
        ),
        "within": charts.hbars(
            "Share answered within the response target",
            [(r.label, r.counts.within_share, _pct(r.counts.within_share)) for r in leads.by_owner],
        ),
        "win": charts.hbars(
            "Win rate per rep", [(r.label, r.rate, _pct(r.rate)) for r in deals.win_rate_by_owner]
        ),
    }


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"
