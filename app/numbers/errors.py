from app.core.errors import AppError


class InvalidPhone(AppError):
    code = "invalid_phone"
    status = 400
    default_message = "That is not a valid NANP phone number."

    def __init__(self, reason: str, value: str, message: str) -> None:
        super().__init__(message, details={"reason": reason, "value": value[:64]})
        self.reason = reason
