"""The plan model (DESIGN.md section 2), its loading and its JSON Schema."""

from ratecard.plan.load import load_plan
from ratecard.plan.model import Plan

__all__ = ["Plan", "load_plan"]
