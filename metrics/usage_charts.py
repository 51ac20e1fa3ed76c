"""Bar charts drawn as SVG on the server: the usage page needs no script,
and every number it plots is also in a table beside it."""
from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    title: str


def stacked_bars(
    rows: list[dict], *, keys: tuple[str, ...], label, width: int = 720, height: int = 160
) -> dict:
    """Geometry for one stacked bar per row (`keys` stacked bottom-up), to
    be drawn by templates/usage/chart.html. `label(row)` names a bar."""
    peak = max((sum(row[key] for key in keys) for row in rows), default=0) or 1
    step = width / max(len(rows), 1)
    series = {key: [] for key in keys}
    for index, row in enumerate(rows):
        base = height
        for key in keys:
            size = row[key] / peak * (height - 4)
            base -= size
            series[key].append(
                Bar(x=index * step + 1, y=base, width=max(step - 2, 1), height=size, label=label(row),
                    title=f"{label(row)}: {row[key]:,} {key.replace('_', ' ')}")
            )
    return {"width": width, "height": height, "peak": peak, "series": series}
