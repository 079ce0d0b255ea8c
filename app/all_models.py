"""Imports every feature's tables so Base.metadata is complete (Alembic autogenerate, tests)."""

from app.areacodes import models as areacode_models
from app.attempts import models as attempt_models
from app.auth import models as auth_models
from app.callingrules import models as callingrule_models
from app.checks import models as check_models
from app.consents import models as consent_models
from app.core.models import Base
from app.dnc import models as dnc_models
from app.events import models as events_models
from app.optouts import models as optout_models
from app.scrubs import models as scrub_models
from app.uploads import models as upload_models
from app.webhooks import models as webhook_models

__all__ = [
    "Base",
    "areacode_models",
    "attempt_models",
    "auth_models",
    "callingrule_models",
    "check_models",
    "consent_models",
    "dnc_models",
    "events_models",
    "optout_models",
    "scrub_models",
    "upload_models",
    "webhook_models",
]
