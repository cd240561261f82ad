"""Server-rendered SVG charts of the admin dashboard: geometry computed here, markup in
templates/admin/scheduler/chart.html. No JavaScript, nothing fetched from elsewhere."""

import datetime
import math
from dataclasses import dataclass, field

from django.utils.formats import number_format

from verses.push.counts import PUSH_OUTCOME_COUNTS

WIDTH, HEIGHT = 480, 200
LEFT, RIGHT, TOP, BOTTOM = 44, 8, 10, 24
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM


@dataclass
class Series:
    key: str
    label: str
    values: list[int | None]  # None: no figure that day (drawn as a gap, shown as "—")


@dataclass
class Chart:
    id: str
    title: str
    kind: str  # "bars" (stacked) or "lines"
    days: list[datetime.date]
    series: list[Series]
    empty_text: str = "Aucune donnée sur la période."
    # Filled by layout():
    width: int = WIDTH
    height: int = HEIGHT
    ticks: list[dict] = field(default_factory=list)
    columns: list[dict] = field(default_factory=list)
    lines: list[dict] = field(default_factory=list)
    x_labels: list[dict] = field(default_factory=list)
    plot: dict = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(value or 0 for s in self.series for value in s.values)

    @property
    def rows(self) -> list[dict]:
        """The chart's data as a table: one row per day, newest first."""
        return [
            {"day": day, "values": [_fmt(s.values[n]) for s in self.series]}
            for n, day in reversed(list(enumerate(self.days)))
        ]


def _nice_max(value: int) -> int:
    """The axis' top: the smallest 1, 2, 4, 6 or 8 x 10^k at least `value` (even above 1, so
    that the middle gridline is a whole number)."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 4, 6, 8, 10) if step * power >= value)


def _fmt(value: int | None) -> str:
    return "—" if value is None else number_format(value, force_grouping=True)


def _day_text(chart: Chart, n: int) -> str:
    parts = ", ".join(f"{s.label} {_fmt(s.values[n])}" for s in chart.series)
    return f"{chart.days[n]:%d/%m/%Y} : {parts}"


def layout(chart: Chart) -> Chart:
    """Compute the chart's axis, bars or lines in SVG user units (viewBox WIDTH x HEIGHT)."""
    count = len(chart.days)
    if chart.kind == "bars":
        peak = max((sum(s.values[n] or 0 for s in chart.series) for n in range(count)), default=0)
    else:
        peak = max((value or 0 for s in chart.series for value in s.values), default=0)
    top = _nice_max(peak)
    scale = PLOT_H / top
    baseline = TOP + PLOT_H
    slot = PLOT_W / max(count, 1)

    def x_mid(n: int) -> float:
        return round(LEFT + slot * (n + 0.5), 1)

    def y_of(value: int) -> float:
        return round(baseline - value * scale, 1)

    chart.plot = {"left": LEFT, "right": LEFT + PLOT_W, "top": TOP, "baseline": baseline, "height": PLOT_H}
    chart.ticks = [{"y": y_of(value), "label": _fmt(value)} for value in ((0, top // 2, top) if top > 1 else (0, 1))]
    # About five dates, counted back from the last day (anchored at the plot's right edge).
    step = max(1, math.ceil(count / 5))
    chart.x_labels = [
        {"x": x_mid(n), "anchor": "middle", "label": f"{chart.days[n]:%d/%m}"} for n in range(count - 1, -1, -step)
    ]
    if chart.x_labels:
        chart.x_labels[0].update(x=LEFT + PLOT_W, anchor="end")
    chart.columns = []
    for n in range(count):
        x = LEFT + slot * n
        column = {"x": round(x, 1), "width": round(slot, 1), "text": _day_text(chart, n), "bars": [], "dots": []}
        if chart.kind == "bars":
            y = baseline
            for index, series in enumerate(chart.series):
                height = (series.values[n] or 0) * scale
                if height:
                    y -= height
                    column["bars"].append(
                        {
                            "series": index,
                            "x": round(x + slot * 0.15, 1),
                            "y": round(y, 1),
                            "width": round(slot * 0.7, 1),
                            "height": round(height, 1),
                        }
                    )
        else:
            column["dots"] = [
                {"series": index, "cx": x_mid(n), "cy": y_of(series.values[n])}
                for index, series in enumerate(chart.series)
                if series.values[n] is not None
            ]
        chart.columns.append(column)
    chart.lines = []
    if chart.kind == "lines":
        for index, series in enumerate(chart.series):
            # One polyline per run of consecutive days with a figure: a missing day is a gap.
            segment: list[str] = []
            for n, value in enumerate([*series.values, None]):
                if value is not None:
                    segment.append(f"{x_mid(n)},{y_of(value)}")
                elif segment:
                    if len(segment) > 1:
                        chart.lines.append({"series": index, "points": " ".join(segment)})
                    segment = []
    return chart


AI_FAILURE_LABELS = {  # every kind of verses.ai.gemini.FAILURE_KINDS and verses.generation.validation.REJECTION_KINDS
    "safety": "Bloquée (sécurité)",
    "recitation": "Citation bloquée",
    "max_tokens": "Réponse tronquée",
    "empty": "Réponse vide",
    "finish_other": "Arrêt inattendu",
    "blocked_prompt": "Demande bloquée",
    "bad_json": "JSON invalide",
    "model_not_found": "Modèle introuvable",
    "auth": "Clé refusée",
    "bad_request": "Requête refusée",
    "rate_limit": "Limite de débit",
    "quota_exhausted": "Quota épuisé",
    "server_error": "Erreur du serveur",
    "timeout": "Délai dépassé",
    "connection": "Connexion perdue",
    "unknown_reference": "Référence inconnue",
    "too_long": "Passage trop long",
    "text_mismatch": "Texte non conforme",
    "reflection_length": "Méditation hors longueur",
    "wrong_language": "Mauvaise langue",
    "repeated": "Passage répété",
}


def dashboard_charts(series: dict) -> list[Chart]:
    """The four charts of the dashboard from `console.selectors.dashboard_series`."""
    days = series["days"]
    users, verses, pushes = series["users"], series["verses"], series["pushes"]
    charts = [
        Chart(
            "users",
            "Utilisateurs actifs",
            "lines",
            days,
            [
                Series("active_users", "Actifs", users["active_users"]),
                Series("daily_active_users", "Actifs du jour", users["daily_active_users"]),
                Series("weekly_active_users", "Actifs 7 j", users["weekly_active_users"]),
                Series("monthly_active_users", "Actifs 30 j", users["monthly_active_users"]),
            ],
        ),
        Chart(
            "verses",
            "Versets distribués par source",
            "bars",
            days,
            [
                Series("ai", "IA", verses["ai"]),
                Series("fallback", "Secours", verses["fallback"]),
            ],
        ),
        Chart(
            "ai_failures",
            "Échecs de l'IA par type (paires humeur × langue)",
            "bars",
            days,
            [Series(kind, AI_FAILURE_LABELS.get(kind, kind), values) for kind, values in series["ai_failures"].items()],
            empty_text="Aucun échec de l'IA sur la période.",
        ),
        Chart(
            "pushes",
            "Notifications push",
            "bars",
            days,
            [Series(count.name, count.label, pushes[count.name]) for count in PUSH_OUTCOME_COUNTS],
        ),
    ]
    return [layout(chart) for chart in charts]
