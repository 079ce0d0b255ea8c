"""Calling-hour rules and the window computation: pure functions over plain values."""

from app.rules.data import DEFAULT_PATH, HolidayCalendars, load_jurisdictions
from app.rules.engine import HORIZON, evaluate
from app.rules.model import Ban, Jurisdiction, Policy, Verdict, Window

__all__ = [
    "DEFAULT_PATH",
    "HORIZON",
    "Ban",
    "HolidayCalendars",
    "Jurisdiction",
    "Policy",
    "Verdict",
    "Window",
    "evaluate",
    "load_jurisdictions",
]
