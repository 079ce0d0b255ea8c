"""The calling laws, the laws' frequency caps and holiday calendars this process loaded at start
(on app.state by create_app): one accessor each, and the route aliases of the laws and caps."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from fastapi import Depends, FastAPI

from app.core.dependencies import from_app
from app.rules.caps import FrequencyCap
from app.rules.data import HolidayCalendars
from app.rules.model import Jurisdiction

Laws = Mapping[str, Jurisdiction]
Caps = Mapping[str, FrequencyCap]  # the laws' frequency caps by jurisdiction id


def laws_of(app: FastAPI) -> Laws:
    laws: Laws = app.state.laws
    return laws


def caps_of(app: FastAPI) -> Caps:
    """The laws' frequency caps (data/frequency_caps.csv) by jurisdiction id ("US-FL", …)."""
    caps: Caps = app.state.caps
    return caps


def holidays_of(app: FastAPI) -> HolidayCalendars:
    holidays: HolidayCalendars = app.state.holidays
    return holidays


LawsDep = Annotated[Laws, Depends(from_app(laws_of))]
CapsDep = Annotated[Caps, Depends(from_app(caps_of))]
