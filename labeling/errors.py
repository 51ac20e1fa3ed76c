class LabelingError(Exception):
    """A request the annotator or admin can fix or retry; `code` is stable
    for clients, `message` is shown as it is."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class PromptImportError(LabelingError):
    """A file that cannot be imported, with the line that shows why. Raised
    before anything is written."""

    def __init__(self, file_name: str, line: int, problem: str):
        super().__init__("bad_file", f"{file_name}, line {line}: {problem}")
        self.file_name = file_name
        self.line = line
        self.problem = problem
