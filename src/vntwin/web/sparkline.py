"""Small trend lines drawn by the server: the geometry of an inline SVG sparkline.

The dashboard shows each indicator's trend as a sparkline in the page itself, so it is
there without JavaScript, under the Content-Security-Policy (no inline style: the look
is in ``site.css``), and in the live section that the page script swaps in from the
server. The template draws it (``_trend.html``) from what :func:`sparkline` computes;
the values themselves go into the picture's title and a table beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Sparkline:
    """Where to draw: ``points`` for a ``<polyline>``, the ``last`` point (a dot: where
    the trend is now) and the target's height, if any.
    """

    width: int
    height: int
    points: str
    last: tuple[float, float]
    target_y: float | None


def sparkline(values: Sequence[float | int | None], target: float | int | None = None,
              width: int = 120, height: int = 32, pad: float = 3.0) -> Sparkline | None:
    """A sparkline of ``values`` (oldest first, evenly spaced; None skipped), scaled so
    that the target, when given, is on the picture too: how far off it the trend is
    shows at a glance. None for fewer than two values, which make no trend.

    >>> sparkline([1, 3, 2], width=20, height=10, pad=0).points
    '0.0,10.0 10.0,0.0 20.0,5.0'
    """
    numbers = [float(v) for v in values if v is not None]
    if len(numbers) < 2:
        return None
    scale = numbers + ([float(target)] if target is not None else [])
    low, high = min(scale), max(scale)

    def y(value: float) -> float:
        if high == low:  # a flat line, in the middle
            return round(height / 2, 1)
        return round(height - pad - (value - low) / (high - low) * (height - 2 * pad), 1)

    step = (width - 2 * pad) / (len(numbers) - 1)
    coords = [(round(pad + i * step, 1), y(v)) for i, v in enumerate(numbers)]
    return Sparkline(width=width, height=height,
                     points=" ".join(f"{x},{yy}" for x, yy in coords), last=coords[-1],
                     target_y=y(float(target)) if target is not None else None)
