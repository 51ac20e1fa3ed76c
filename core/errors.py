class UserError(Exception):
    """A request the user can fix or retry; `code` is stable for clients,
    `message` is shown as it is."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message
