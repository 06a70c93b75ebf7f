"""Dollar amounts as the CSV and text outputs print them.

The engines add and subtract in binary floating point, so a figure that is zero
by the deal's arithmetic can come out as a few times 1e-11 (a reserve draw of
1.46e-11 dollars, a retired class's balance of 2.4e-10). No payment is smaller
than a cent, so an amount below half a millionth of a dollar in magnitude
(DUST) prints as 0; anything larger prints unrounded. JSON output and deal
states keep every figure as the run computed it (a program reading them can
check an identity to the last bit; a state must continue the run exactly).
Rates, percentages and counts are never cleaned: only amounts in dollars.
"""
from __future__ import annotations

DUST = 5e-7  # dollars: half a millionth


def shown(x: float) -> float:
    """The amount as printed: 0.0 below DUST in magnitude (-0.0 too), else x (NaN stays NaN)."""
    x = float(x)
    return 0.0 if abs(x) < DUST else x


def amount_text(x: float) -> str:
    """An amount for a CSV cell: every digit of the figure, or 0.0 for dust."""
    return repr(shown(x))
