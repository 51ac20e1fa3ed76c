"""Reads of the jobs app: the jobs a person sees, a job's metric series, log
and samples, and the corpora pre-training can start from."""

import json
from collections import deque
from pathlib import Path

from django.conf import settings
from django.db.models import QuerySet

from .models import TrainingJob
from .serializers import metric_point

CORPUS_SUFFIXES = (".txt", ".text", ".md")


def job_list(*, user) -> QuerySet:
    """Every job for admins; one's own jobs for the others."""
    jobs = TrainingJob.objects.select_related("base_version", "snapshot", "created_by", "output_version")
    return jobs if user.is_admin else jobs.filter(created_by=user)


def job_metric_points(*, job: TrainingJob) -> list[dict]:
    return [metric_point(metric) for metric in job.metrics.order_by("id")]


def job_log_path(*, job: TrainingJob) -> Path | None:
    if not job.directory:
        return None
    path = Path(job.directory) / "log.txt"
    return path if path.is_file() else None


def job_samples(*, job: TrainingJob, limit: int = 12) -> list[dict]:
    """The last answers a recipe wrote to fixed evaluation prompts
    (output/samples.jsonl, PPO's: step, prompt, response, reward), newest
    first."""
    if not job.directory:
        return []
    path = Path(job.directory) / "output" / "samples.jsonl"
    try:
        with open(path, encoding="utf-8") as stream:
            lines = deque(stream, maxlen=limit)
    except OSError:
        return []
    rows = []
    for line in reversed(lines):
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows


def corpus_choices() -> list[str]:
    """Text files under DATA_DIR/corpora/, relative to DATA_DIR."""
    directory = Path(settings.DATA_DIR) / "corpora"
    if not directory.is_dir():
        return []
    return sorted(
        str(path.relative_to(settings.DATA_DIR))
        for path in directory.iterdir()
        if path.is_file() and path.suffix in CORPUS_SUFFIXES
    )
