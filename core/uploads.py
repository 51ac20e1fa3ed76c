"""A cap on the bytes of any one multipart request (UPLOAD_MAX_MB).

Django limits form fields (DATA_UPLOAD_MAX_MEMORY_SIZE) but streams any
amount of file data to a temporary file, and it reads the whole body as
soon as the CSRF check looks for a token, before any view has checked who
is asking. This handler runs first in FILE_UPLOAD_HANDLERS: a request that
announces more than the cap is refused before a byte is read, and one that
sends more than it announced is cut off at the cap. Both are a 400.
"""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.files.uploadhandler import FileUploadHandler


class RequestSizeLimitHandler(FileUploadHandler):
    def __init__(self, request=None):
        super().__init__(request)
        self.limit = settings.UPLOAD_MAX_MB * 1024 * 1024
        self.received = 0

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if content_length > self.limit:
            raise RequestDataTooBig(f"The upload is larger than {settings.UPLOAD_MAX_MB} MB.")

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.limit:
            raise RequestDataTooBig(f"The upload is larger than {settings.UPLOAD_MAX_MB} MB.")
        return raw_data

    def file_complete(self, file_size):
        return None
