"""The uploads' errors: an upload that is not there, and the reason a run failed (kept on the
upload, never an HTTP answer)."""

from app.core.errors import NotFound


class UploadFailed(Exception):
    def __init__(self, error: str, message: str) -> None:
        super().__init__(message)
        self.failure = {"error": error, "message": message}


class UploadNotFound(NotFound):
    default_message = "No such upload."
