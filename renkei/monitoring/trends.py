"""Trend charts as server-rendered SVG (no JavaScript, no CDN): a supplier's level and
questionnaire score over time, and the portfolio's suppliers per level per day."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from renkei.monitoring.models import PortfolioDay
from renkei.risk.choices import LEVEL_RANK, Level
from renkei.risk.models import RiskSnapshot

DAYS = 180
WIDTH, HEIGHT = 600, 160
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 44, 8, 8, 22
LEVELS_UP = [Level.LOW, Level.MEDIUM, Level.HIGH, Level.CRITICAL]


@dataclass
class Chart:
    width: int
    height: int
    plot: dict[str, float]  # x, y, w, h of the plotting area
    series: list[dict[str, Any]]
    y_ticks: list[dict[str, Any]]
    x_ticks: list[dict[str, Any]]
    first: datetime.date
    last: datetime.date


def _x(day: datetime.date, first: datetime.date, last: datetime.date) -> float:
    span = max((last - first).days, 1)
    return round(PAD_LEFT + (day - first).days / span * (WIDTH - PAD_LEFT - PAD_RIGHT), 1)


def _y(value: float, top: float) -> float:
    inner = HEIGHT - PAD_TOP - PAD_BOTTOM
    return round(PAD_TOP + inner - (value / top if top else 0) * inner, 1)


def _x_ticks(first: datetime.date, last: datetime.date) -> list[dict[str, Any]]:
    ticks = []
    day = first.replace(day=1)
    while day <= last:
        if day >= first:
            ticks.append({"x": _x(day, first, last), "label": day.strftime("%Y-%m")})
        day = (day + datetime.timedelta(days=32)).replace(day=1)
    step = max(1, len(ticks) // 6)
    return ticks[::step]


def _plot() -> dict[str, float]:
    return {"x": PAD_LEFT, "y": PAD_TOP, "w": WIDTH - PAD_LEFT - PAD_RIGHT,
            "h": HEIGHT - PAD_TOP - PAD_BOTTOM, "bottom": HEIGHT - PAD_BOTTOM}


def supplier_trend(supplier_id: int, today: datetime.date, days: int = DAYS) -> dict[str, Any] | None:
    """The level (step line) and score (line) of one supplier; None without two days of data."""
    rows = list(RiskSnapshot.objects.filter(
        supplier_id=supplier_id, day__gt=today - datetime.timedelta(days=days)).order_by("day")
        .values_list("day", "level", "score", "impact", "likelihood"))
    if len(rows) < 2:
        return {"rows": rows, "level": None, "score": None}
    first, last = rows[0][0], rows[-1][0]
    points = []
    for i, (day, level, _score, _impact, _likelihood) in enumerate(rows):
        x, y = _x(day, first, last), _y(LEVEL_RANK.get(level, 0), 3)
        if i:
            points.append(f"{x},{points[-1].split(',')[1]}")  # a step: hold, then move
        points.append(f"{x},{y}")
    level = Chart(WIDTH, HEIGHT, _plot(), [{"name": "level", "points": " ".join(points)}],
                  [{"y": _y(LEVEL_RANK[lv], 3), "label": lv.label, "level": lv.value} for lv in LEVELS_UP],
                  _x_ticks(first, last), first, last)
    scored = [(day, float(score)) for day, _level, score, _i, _l in rows if score is not None]
    score = None
    if len(scored) >= 2:
        score = Chart(WIDTH, HEIGHT, _plot(), [{"name": "score", "points": " ".join(
            f"{_x(day, first, last)},{_y(value, 100)}" for day, value in scored)}],
            [{"y": _y(v, 100), "label": str(v)} for v in (0, 50, 100)], _x_ticks(first, last), first, last)
    return {"rows": rows, "level": level, "score": score}


def portfolio_trend(organization_id: int, today: datetime.date, days: int = DAYS) -> dict[str, Any]:
    """Suppliers per level per day as stacked areas (critical on top)."""
    rows = list(PortfolioDay.objects.filter(
        organization_id=organization_id, day__gt=today - datetime.timedelta(days=days)).order_by("day")
        .values_list("day", "low", "medium", "high", "critical"))
    if len(rows) < 2:
        return {"chart": None, "rows": rows, "latest": rows[-1] if rows else None}
    first, last = rows[0][0], rows[-1][0]
    top = max(sum(r[1:]) for r in rows) or 1
    series = []
    lower = [0] * len(rows)
    for index, level in enumerate(LEVELS_UP, start=1):
        upper = [lower[i] + rows[i][index] for i in range(len(rows))]
        outline = [f"{_x(r[0], first, last)},{_y(upper[i], top)}" for i, r in enumerate(rows)]
        base = [f"{_x(r[0], first, last)},{_y(lower[i], top)}" for i, r in reversed(list(enumerate(rows)))]
        series.append({"name": level.value, "label": level.label, "points": " ".join(outline + base)})
        lower = upper
    ticks = [{"y": _y(v, top), "label": f"{v:,}"} for v in (0, top // 2, top)]
    chart = Chart(WIDTH, HEIGHT, _plot(), series, ticks, _x_ticks(first, last), first, last)
    return {"chart": chart, "rows": rows, "latest": rows[-1]}
