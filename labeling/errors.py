from core.errors import UserError


class PromptImportError(UserError):
    """A file that cannot be imported, with the line that shows why. Raised
    before anything is written."""

    def __init__(self, file_name: str, line: int, problem: str):
        super().__init__("bad_file", f"{file_name}, line {line}: {problem}")
        self.file_name = file_name
        self.line = line
        self.problem = problem
