"""The Datasets page's "Hugging Face dataset" download: a snapshot as a
dataset folder (Parquet shards and a card, labeling.hub_export), zipped as
it is sent.

The folder is built in a temporary directory under DATA_DIR/exports/ and
removed once the zip is sent (or the download is dropped). The zip is an
asynchronous iterator, each chunk made in a worker thread: served over
ASGI, Django would read a synchronous one whole into memory before the
first byte. Snapshots whose file is over DATASET_DOWNLOAD_MAX_MB are
refused here (building blocks a request) and left to
`manage.py export_snapshot_dataset`."""

import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from datetime import UTC
from pathlib import Path

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib import messages
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_GET

from accounts.access import role_required
from accounts.models import Role
from core.errors import UserError

from . import hub_export
from .models import DatasetSnapshot


async def _in_threads(chunks: Iterator[bytes], scratch: Path) -> AsyncIterator[bytes]:
    """Each chunk made in a worker thread (not the one that runs the sync
    views: zipping touches no database). The scratch folder goes when this
    ends, however it ends: a client that leaves mid-download cancels it,
    and Django then closes no response."""
    done = object()
    try:
        while (chunk := await sync_to_async(next, thread_sensitive=False)(chunks, done)) is not done:
            yield chunk
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


class _ZipResponse(StreamingHttpResponse):
    """Removes the scratch folder when closed too: a response whose stream
    never started never runs the stream's own cleanup."""

    def __init__(self, chunks: Iterator[bytes], scratch: Path, filename: str):
        super().__init__(_in_threads(chunks, scratch), content_type="application/zip")
        self["Content-Disposition"] = f'attachment; filename="{filename}"'
        self._scratch = scratch

    def close(self):
        super().close()
        shutil.rmtree(self._scratch, ignore_errors=True)


@role_required(Role.ADMIN)
@require_GET
def snapshot_hub_download_view(request, snapshot_id: int, fmt: str):
    snapshot = get_object_or_404(DatasetSnapshot, pk=snapshot_id)
    try:
        hub_export.hub_format_check(kind=snapshot.kind, fmt=fmt)
    except ValueError as error:
        raise Http404(str(error)) from None
    limit = settings.DATASET_DOWNLOAD_MAX_MB
    try:
        too_large = (settings.DATA_DIR / snapshot.path).stat().st_size > limit * 2**20
    except OSError:
        too_large = False  # dataset_folder_write says what is wrong with the file
    if too_large:
        messages.error(
            request,
            f"{snapshot} is over {limit} MB, too large to zip in a page request: run "
            f"manage.py export_snapshot_dataset {snapshot} --format {fmt}.",
        )
        return redirect("labeling:admin-snapshots")
    name = hub_export.folder_name(snapshot=snapshot, fmt=fmt)
    exports = settings.DATA_DIR / "exports"
    exports.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".download-", dir=exports))
    try:
        hub_export.dataset_folder_write(snapshot=snapshot, fmt=fmt, out=scratch / name)
    except UserError as error:
        shutil.rmtree(scratch, ignore_errors=True)
        messages.error(request, error.message)
        return redirect("labeling:admin-snapshots")
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    frozen = snapshot.created_at.astimezone(UTC)
    chunks = hub_export.folder_zip(folder=scratch / name, root=name, date_time=frozen.timetuple()[:6])
    return _ZipResponse(chunks, scratch, f"{name}.zip")
