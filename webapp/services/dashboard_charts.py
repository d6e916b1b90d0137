"""The team dashboard as its page shows it: the figures of
:func:`webapp.services.dashboard.dashboard` drawn as charts. Looking is audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from markupsafe import Markup

from webapp.context import Services
from webapp.services import charts
from webapp.services.audit_trail import record
from webapp.services.auth import CurrentUser
from webapp.services.dashboard import Dashboard, DashboardFilter, NoteFigures, dashboard

__all__ = ["DashboardPage", "dashboard_figures", "dashboard_page"]


@dataclass(frozen=True)
class DashboardPage:
    """Everything the team dashboard page shows.

    Attributes:
        board: The figures.
        figures: Each chart, by name, as inline SVG.
        outliers: Notes approved unchanged after very little review.
        template_titles: Each visit type's title, by its name.
    """

    board: Dashboard
    figures: dict[str, Markup]
    outliers: list[NoteFigures]
    template_titles: dict[str, str]


def _pct(value: float) -> str:
    return f"{value * 100:.0f}%"


def _week_label(week: str) -> str:
    """``2026-W48`` as people say it: the week commencing Monday 23 Nov."""
    year, _, number = week.partition("-W")
    try:
        monday = date.fromisocalendar(int(year), int(number), 1)
    except ValueError:
        return week
    return f"w/c {monday.day} {monday:%b %Y}"


def _template_title(svc: Services, name: str) -> str:
    template = svc.templates.get(name)
    return template.title if template is not None else name


def _worker_figures(board: Dashboard) -> dict[str, Markup]:
    """The charts with a bar per worker."""
    people = board.by_author
    quick = {name for name, f in people.items() if f["outliers"]}
    return {
        "unchanged": charts.bar_chart(
            "chart-unchanged",
            "Share of AI statements approved unchanged, per worker",
            [
                charts.Bar(n, f["unchanged"] * 100, _pct(f["unchanged"]), n in quick)
                for n, f in people.items()
            ],
            maximum=100,
        ),
        "edit_worker": charts.bar_chart(
            "chart-edit-worker",
            "Words changed from the AI draft, per worker",
            [charts.Bar(n, f["edit"] * 100, _pct(f["edit"])) for n, f in people.items()],
            maximum=100,
        ),
        "flags": charts.bar_chart(
            "chart-flags",
            "Flagged statements confirmed without change, per worker",
            [
                charts.Bar(n, f["confirmed"], f"{f['confirmed']:.0f} of {f['flags']:.0f}")
                for n, f in people.items()
            ],
        ),
        "visit_days": charts.bar_chart(
            "chart-visit-days",
            "Average days from visit to approved note, per worker",
            [
                charts.Bar(n, f["visit_days"], f"{f['visit_days']:.1f} days")
                for n, f in people.items()
            ],
        ),
    }


def dashboard_figures(svc: Services, board: Dashboard) -> dict[str, Markup]:
    """The dashboard's charts, by name."""
    return {
        **_worker_figures(board),
        "weekly": charts.column_chart(
            "chart-weekly",
            "Notes approved per week",
            [charts.Bar(_week_label(week), count, str(count)) for week, count in board.per_week],
        ),
        "edit_template": charts.bar_chart(
            "chart-edit-template",
            "Words changed from the AI draft, per template",
            [
                charts.Bar(_template_title(svc, n), f["edit"] * 100, _pct(f["edit"]))
                for n, f in board.by_template.items()
            ],
            maximum=100,
        ),
        "review": charts.scatter_chart(
            "chart-review",
            "Review time against share approved unchanged, one point per note",
            [
                charts.Point(
                    (f.review_seconds or 0) / 60,
                    f.unchanged_share * 100,
                    f"{f.author}, {f.approved_on:%d %b}",
                    f.outlier,
                )
                for f in board.notes
                if f.review_seconds is not None
            ],
            "Minutes from first opening to approval",
            "% unchanged",
            x_max=max([30.0] + [(f.review_seconds or 0) / 60 for f in board.notes]),
        ),
    }


def dashboard_page(svc: Services, user: CurrentUser, filters: DashboardFilter) -> DashboardPage:
    """The team dashboard as its page shows it, filtered; the look is audited.

    Raises:
        Forbidden: The user's role may not see the dashboard.
    """
    board = dashboard(svc, user, filters)
    figures = dashboard_figures(svc, board)
    with svc.engine.begin() as conn:
        record(
            conn, user.id, user.username, "dashboard_view", None, None, {"notes": len(board.notes)}
        )
    return DashboardPage(
        board=board,
        figures=figures,
        outliers=[f for f in board.notes if f.outlier],
        template_titles={name: _template_title(svc, name) for name in board.templates},
    )
