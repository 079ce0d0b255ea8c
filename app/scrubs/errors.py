"""The scrubs' errors: a scrub that is not there, a result not (or no longer) there, and why a
run failed (kept on the scrub, never an HTTP answer)."""

from app.core.errors import AppError, NotFound


class ScrubNotFound(NotFound):
    default_message = "No such scrub."


class ScrubResultNotReady(AppError):
    code = "scrub_not_ready"
    status = 409
    default_message = "The scrub has not succeeded: it has no result."


class ScrubResultGone(AppError):
    code = "scrub_result_gone"
    status = 410
    default_message = "The scrub's result was deleted after its retention; its hashes remain."


class ScrubFailed(Exception):
    def __init__(self, error: str, message: str) -> None:
        super().__init__(message)
        self.failure = {"error": error, "message": message}
