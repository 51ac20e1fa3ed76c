"""Bar charts drawn as SVG on the server: the usage page needs no script,
and every number it plots is also in a table beside it."""

import math
from dataclasses import dataclass

# Room left of the bars for the value ticks and below them for the day labels.
LEFT = 48
BOTTOM = 20
X_LABELS = 6  # about this many day labels, however many bars


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    title: str


@dataclass(frozen=True)
class Tick:
    position: float  # y for a value tick, x for a day label
    text: str


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 times a power of ten at or above
    `value`, so the top tick reads as a round number."""
    magnitude = 10 ** math.floor(math.log10(value))
    return next(step * magnitude for step in (1, 2, 2.5, 5, 10) if step * magnitude >= value)


def stacked_bars(rows: list[dict], *, keys: tuple[str, ...], label, width: int = 720, height: int = 190) -> dict:
    """Geometry for one stacked bar per row (`keys` stacked bottom-up), with
    a value axis (0, half and the top, a round number at or above the tallest
    bar) and a day axis, to be drawn by templates/usage/chart.html. `label(row)`
    names a bar."""
    peak = max((sum(row[key] for key in keys) for row in rows), default=0) or 1
    top = nice_ceiling(peak)
    plot_height = height - BOTTOM
    step = (width - LEFT) / max(len(rows), 1)
    series = {key: [] for key in keys}
    for index, row in enumerate(rows):
        base = plot_height
        for key in keys:
            size = row[key] / top * (plot_height - 6)
            base -= size
            series[key].append(
                Bar(
                    x=LEFT + index * step + 1,
                    y=base,
                    width=max(step - 2, 1),
                    height=size,
                    label=label(row),
                    title=f"{label(row)}: {row[key]:,} {key.replace('_', ' ')}",
                )
            )
    value_ticks = [
        Tick(position=plot_height - share * (plot_height - 6), text=f"{top * share:,.0f}") for share in (1, 0.5, 0)
    ]
    every = max(1, round(len(rows) / X_LABELS))
    day_ticks = [
        Tick(position=LEFT + (index + 0.5) * step, text=label(row))
        for index, row in enumerate(rows)
        if index % every == 0
    ]
    return {
        "width": width,
        "height": height,
        "peak": peak,
        "series": series,
        "left": LEFT,
        "value_ticks": value_ticks,
        "day_ticks": day_ticks,
    }
