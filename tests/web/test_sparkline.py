"""The geometry of the dashboard's sparklines."""

from __future__ import annotations

from vntwin.web.sparkline import sparkline


def test_values_fill_the_box_oldest_left() -> None:
    spark = sparkline([1, 3, 2], width=20, height=10, pad=0)
    assert spark is not None
    assert spark.points == "0.0,10.0 10.0,0.0 20.0,5.0" and spark.last == (20.0, 5.0)
    assert spark.target_y is None


def test_the_target_is_on_the_picture() -> None:
    """A target far above the values (20 % against 11.9 to 18) sets the top of the scale,
    so the gap shows; the values keep their order."""
    spark = sparkline([11.9, 14.3, None, 18], target=20, width=100, height=20, pad=0)
    assert spark is not None and spark.target_y == 0.0
    ys = [float(p.split(",")[1]) for p in spark.points.split()]
    assert ys[0] == 20.0 and ys[0] > ys[1] > ys[2] > spark.target_y  # None skipped


def test_flat_and_too_short() -> None:
    flat = sparkline([5, 5], height=30)
    assert flat is not None and flat.points.endswith(",15.0") and flat.last[1] == 15.0
    assert sparkline([]) is None and sparkline([7]) is None and sparkline([None, 1]) is None
