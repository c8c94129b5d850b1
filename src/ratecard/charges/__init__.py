"""The charge math: one component's charge and the modifier pipeline. Pure, no I/O."""

from ratecard.charges.invoice import Invoice, Line, State
from ratecard.charges.quote import evaluate, evaluate_periods

__all__ = ["Invoice", "Line", "State", "evaluate", "evaluate_periods"]
