"""The calling laws and holiday calendars this process loaded at start (on app.state by
create_app): one accessor each, and the route alias of the laws."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from fastapi import Depends, FastAPI

from app.core.dependencies import from_app
from app.rules.data import HolidayCalendars
from app.rules.model import Jurisdiction

Laws = Mapping[str, Jurisdiction]


def laws_of(app: FastAPI) -> Laws:
    laws: Laws = app.state.laws
    return laws


def holidays_of(app: FastAPI) -> HolidayCalendars:
    holidays: HolidayCalendars = app.state.holidays
    return holidays


LawsDep = Annotated[Laws, Depends(from_app(laws_of))]
