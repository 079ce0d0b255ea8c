from typing import Annotated

import pytz
from pydantic import AfterValidator, BaseModel, Field, model_validator

from app.core.schemas import TextInput


def _known_zone(name: str) -> str:
    if name not in pytz.all_timezones_set:
        raise ValueError(f"{name!r} is not an IANA time zone")
    return name


TimeZone = Annotated[str, AfterValidator(_known_zone)]


class AreaCodeOut(BaseModel):
    npa: str
    country: str
    region: str | None
    time_zones: list[str]
    geographic: bool
    in_service: bool
    overridden: bool


class AreaCodeOverrideIn(TextInput):
    time_zones: Annotated[list[TimeZone], Field(min_length=1, max_length=20)] | None = None

    @model_validator(mode="after")
    def _distinct(self) -> "AreaCodeOverrideIn":
        if self.time_zones is not None:
            self.time_zones = sorted(set(self.time_zones))
        return self

    region: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] | None = None
    in_service: bool | None = None

    @model_validator(mode="after")
    def _something(self) -> "AreaCodeOverrideIn":
        if self.time_zones is None and self.region is None and self.in_service is None:
            raise ValueError("give at least one of time_zones, region, in_service")
        return self
