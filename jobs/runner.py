"""The training worker's run of one job.

Claims the job (queued -> running, conditionally, so a task delivered twice
runs once), writes the recipe's data and config.json into DATA_DIR/jobs/<id>/,
runs the recipe as a subprocess, and while it runs: copies its output into
log.txt, reads new lines of metrics.jsonl into the database, renews the
heartbeat, sends progress, log lines and metric points to the job's group,
and stops the recipe when a cancel is asked for (SIGTERM; SIGKILL after
TRAINING_CANCEL_GRACE_SECONDS). A recipe that ends well is registered as a
model version (registration.py); anything else ends the job failed or
cancelled with the files kept. The serving model is never touched.

A resumed job (services.training_job_resume) runs again in the same
directory with the same output_dir: the recipe resumes from the checkpoint
it left in output/checkpoint/, and says so in its summary
("resumed_from_step"). The steps it repeats after that checkpoint replace
their metric points from the run before.
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.errors import UserError
from evaluation.selectors import drop_held_out, evaluation_set_write_prompts
from labeling.datasets import snapshot_export, snapshot_rows

from . import events, recipes, runtime
from .evaluations import evaluation_results_record
from .lineage import code_version, file_sha256
from .models import TrainingJob, TrainingMetric
from .registration import training_job_register_output
from .serializers import metric_point

logger = logging.getLogger(__name__)

_TICK_SECONDS = 0.5
_FLUSH_SECONDS = 1.0
_LOG_TAIL_LINES = 200
_LOG_TAIL_CHARS = 20_000
_LOG_LINES_PER_EVENT = 500
_PROGRESS_KEYS = ("step", "total_steps", "elapsed_s")

# Linux: the recipe gets SIGKILL when the worker thread that started it dies,
# so a killed worker leaves no training running on behind the failed job.
_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


# What a recipe may see of the worker's environment. The worker holds the
# site's secrets (SECRET_KEY, DATABASE_URL, OPENAI_API_KEY, METRICS_TOKEN,
# REDIS_URL); whatever a recipe prints goes to log.txt, which the trainer
# reads, so a crash dump or a library that logs its environment must find
# none. Recipes take every path in their config and need no Django; torch,
# CUDA, NCCL, Hugging Face and the BLAS libraries read their own variables.
_RECIPE_ENV_NAMES = frozenset(
    {
        "PATH",
        "HOME",
        "USER",
        "LOGNAME",
        "LANG",
        "LANGUAGE",
        "TZ",
        "TMPDIR",
        "PYTHONPATH",
        "PYTHONHASHSEED",
        "LD_LIBRARY_PATH",
        "SSL_CERT_FILE",
        "REQUESTS_CA_BUNDLE",
    }
)
_RECIPE_ENV_PREFIXES = (
    "LC_",
    "XDG_",
    "CUDA_",
    "CUDNN_",
    "NCCL_",
    "NVIDIA_",
    "TORCH",
    "PYTORCH_",
    "TRITON_",
    "HF_",
    "HUGGINGFACE_",
    "TRANSFORMERS_",
    "TOKENIZERS_",
    "OMP_",
    "MKL_",
    "OPENBLAS_",
    "KMP_",
)


def recipe_environment() -> dict[str, str]:
    """The allow-listed part of this process's environment, plus
    TRAINING_ENV_PASSTHROUGH's names (an operator's own, e.g. a tracker's)."""
    extra = set(settings.TRAINING_ENV_PASSTHROUGH)
    env = {
        name: value
        for name, value in os.environ.items()
        if name in _RECIPE_ENV_NAMES or name.startswith(_RECIPE_ENV_PREFIXES) or name in extra
    }
    return {**env, "PYTHONUNBUFFERED": "1"}


def _die_with_parent() -> None:
    if _libc is not None:
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class JobInputError(Exception):
    """Data or models the job cannot start from; the message is shown."""


def training_job_run(*, job_id: int) -> None:
    now = timezone.now()
    claimed = TrainingJob.objects.filter(pk=job_id, state=TrainingJob.State.QUEUED).update(
        state=TrainingJob.State.RUNNING, started_at=now, heartbeat_at=now, resumed_from_step=None
    )
    if not claimed:
        logger.info("Training job %s is not queued any more; skipped", job_id)
        return
    job = TrainingJob.objects.select_related(
        "base_version", "reward_version", "snapshot", "baseline_version", "evaluation_set", "red_team_set"
    ).get(pk=job_id)
    # A job that got this far before runs again where it ran (resumed).
    resumed = bool(job.directory)
    directory = Path(settings.DATA_DIR) / "jobs" / str(job.pk)
    directory.mkdir(parents=True, exist_ok=True)
    job.directory = str(directory)
    job.save(update_fields=["directory"])
    events.send_now(job.pk, events.progress_event(job))
    try:
        config_path = _prepare(job, directory)
        RecipeRun(job, directory, config_path, resumed=resumed).run()
    except JobInputError as error:
        _end(job, TrainingJob.State.FAILED, error=str(error), log_tail=f"[job] Failed: {error}")
    except Exception as error:  # the job must end in a final state, whatever broke
        logger.exception("Training job %s failed", job_id)
        _end(job, TrainingJob.State.FAILED, error=f"The job failed: {type(error).__name__}: {error}")
    finally:
        runtime.clear_cancel(job.pk)


# --- Inputs -----------------------------------------------------------------


def _corpus_file(job: TrainingJob, directory: Path) -> Path:
    """Pre-training's corpus, read where it is under DATA_DIR."""
    corpus = Path(settings.DATA_DIR) / job.corpus_path
    if not job.corpus_path or not corpus.is_file():
        raise JobInputError(f"The corpus {job.corpus_path or '(none)'} is not a file under the data directory.")
    job.input_hash = file_sha256(corpus)
    return corpus


def _write_prompts(snapshot, path: Path) -> int:
    """PPO's prompts: each snapshot row's prompt once, as {"prompt": messages}."""
    seen = set()
    with open(path, "w", encoding="utf-8") as out:
        for row in snapshot_rows(snapshot=snapshot):
            key = json.dumps(row["messages"], sort_keys=True)
            if key not in seen:
                seen.add(key)
                out.write(json.dumps({"prompt": row["messages"]}, ensure_ascii=False) + "\n")
    return len(seen)


def _from_snapshot(job: TrainingJob, write, path: Path) -> None:
    """Runs write() -> the number of examples written from the job's
    snapshot to `path`, then drops the ones whose prompt is in an evaluation
    set (no version trains on what it is judged on): a snapshot that cannot
    be read, or gives none, is an input error; the hash trained on is the
    snapshot's."""
    try:
        count = write()
    except (UserError, ValueError) as error:
        raise JobInputError(f"The dataset {job.snapshot} cannot be used: {error}") from None
    held_out = drop_held_out(path=path)
    if count - held_out <= 0:
        raise JobInputError(
            f"The dataset {job.snapshot} gives no training examples for {job.kind}"
            + (f" once the {held_out} held out for evaluation sets are left out." if held_out else ".")
        )
    if held_out:
        _note_before_run(job, f"[job] Left out {held_out} of {count} examples: their prompts are in evaluation sets.")
    job.input_hash = job.snapshot.content_hash


def _note_before_run(job: TrainingJob, line: str) -> None:
    directory = Path(job.directory)
    with open(directory / "log.txt", "a", encoding="utf-8") as log:
        log.write(line + "\n")


def _exported_snapshot(job: TrainingJob, directory: Path) -> Path:
    """The snapshot in the recipe's export format, as train.jsonl."""
    path = directory / "train.jsonl"
    fmt = recipes.RECIPES[job.kind].export_format
    _from_snapshot(job, lambda: snapshot_export(snapshot=job.snapshot, fmt=fmt, output=path), path)
    return path


def _prompts_file(job: TrainingJob, directory: Path) -> Path:
    path = directory / "prompts.jsonl"
    _from_snapshot(job, lambda: _write_prompts(job.snapshot, path), path)
    return path


def _evaluation_prompts(job: TrainingJob, directory: Path) -> Path:
    """The evaluation set's prompts; the hash evaluated on is the set's."""
    if job.evaluation_set is None:
        raise JobInputError("The evaluation has no evaluation set.")
    path = directory / "prompts.jsonl"
    evaluation_set_write_prompts(evaluation_set=job.evaluation_set, path=path)
    job.input_hash = job.evaluation_set.content_hash
    return path


def _evaluation_inputs(job: TrainingJob, directory: Path) -> dict:
    """The baseline, the judges, and the red-team prompts and held-out text
    when the job has them."""
    spec = recipes.RECIPES[job.kind]
    judges = list(job.judge_versions.order_by("pk"))
    if job.baseline_version is None or not judges:
        raise JobInputError("The evaluation needs a baseline version and at least one judge.")
    inputs = {spec.baseline_key: job.baseline_version.path, spec.judges_key: [judge.path for judge in judges]}
    if job.red_team_set is not None:
        path = directory / "red_team.jsonl"
        evaluation_set_write_prompts(evaluation_set=job.red_team_set, path=path)
        inputs["red_team_file"] = str(path)
    if job.corpus_path:
        inputs["text_file"] = str(_corpus_file(job, directory))
        job.input_hash = job.evaluation_set.content_hash  # what was evaluated on is the set
    return inputs


# How each RecipeSpec.data is written: (job, directory) -> the file.
_DATA_WRITERS = {
    recipes.CORPUS: _corpus_file,
    recipes.EXPORT: _exported_snapshot,
    recipes.PROMPTS: _prompts_file,
    recipes.EVALUATION: _evaluation_prompts,
}


def _prepare(job: TrainingJob, directory: Path) -> Path:
    """Writes the data and config.json (inputs from the job's versions and
    data, under the keys its RecipeSpec names); returns the config's path."""
    spec = recipes.RECIPES[job.kind]
    inputs = {recipes.DATA_KEYS[spec.data]: str(_DATA_WRITERS[spec.data](job, directory))}
    if job.base_version is not None:
        inputs[spec.base_key] = job.base_version.path
    if spec.reward_key:
        inputs[spec.reward_key] = job.reward_version.path
    if spec.data == recipes.EVALUATION:
        inputs.update(_evaluation_inputs(job, directory))
    config = {**job.hyperparameters, **inputs, "output_dir": str(directory / "output")}
    path = directory / "config.json"
    path.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    job.config = config
    job.code_version = code_version()
    job.save(update_fields=["config", "input_hash", "code_version"])
    return path


def _processes(job: TrainingJob) -> int:
    if job.preset != "multi-gpu":
        return 1
    if settings.TRAINING_NPROC_PER_NODE:
        return settings.TRAINING_NPROC_PER_NODE
    import torch

    return max(1, torch.cuda.device_count())


# --- The run ------------------------------------------------------------------


class _MetricsTail:
    """New complete lines of a growing metrics.jsonl (the recipe appends and
    flushes; a line cut mid-write waits for the next read), from `offset`
    on (a resumed job's earlier lines are stored already). A file that
    shrank was written anew: it is read from its start."""

    def __init__(self, path: Path, offset: int = 0):
        self.path = path
        self.offset = offset
        self.rest = b""

    @property
    def whole_lines_offset(self) -> int:
        """Where the lines read so far end (a cut line is read again)."""
        return self.offset - len(self.rest)

    def read(self) -> list[dict]:
        try:
            with open(self.path, "rb") as stream:
                if stream.seek(0, os.SEEK_END) < self.offset:
                    self.offset, self.rest = 0, b""
                stream.seek(self.offset)
                data = stream.read()
        except FileNotFoundError:
            return []
        self.offset += len(data)
        *lines, self.rest = (self.rest + data).split(b"\n")
        points = []
        for line in lines:
            try:
                point = json.loads(line)
            except ValueError:
                continue
            if isinstance(point, dict) and isinstance(point.get("step"), int):
                points.append(point)
        return points


class RecipeRun:
    def __init__(self, job: TrainingJob, directory: Path, config_path: Path, *, resumed: bool = False):
        self.job = job
        self.directory = directory
        self.output_dir = directory / "output"
        self.config_path = config_path
        self.nproc = _processes(job)
        self.metrics = _MetricsTail(self.output_dir / "metrics.jsonl", offset=job.metrics_offset)
        self.resumed = resumed
        # A resumed recipe repeats the steps logged after its checkpoint:
        # its first new point tells from where the stored ones are stale.
        self.rewind_pending = False
        self.tail: deque[str] = deque(maxlen=_LOG_TAIL_LINES)
        self.new_lines: list[str] = []
        self.lock = threading.Lock()
        self.log_file = open(directory / "log.txt", "a", encoding="utf-8")
        self.stop_sent_at: float | None = None
        self.killed = False

    # Log lines come from the reader thread and from the run's own notes.
    def note(self, line: str) -> None:
        with self.lock:
            self.log_file.write(line + "\n")
            self.log_file.flush()
            self.tail.append(line)
            self.new_lines.append(line)

    def _read_output(self, stream) -> None:
        for raw in stream:
            # Progress bars redraw with \r: keep what the line last showed.
            self.note(raw.decode("utf-8", "replace").rstrip("\r\n").split("\r")[-1])

    def _cancel_requested(self, check_database: bool) -> bool:
        if runtime.is_cancel_requested(self.job.pk):
            return True
        return check_database and TrainingJob.objects.filter(pk=self.job.pk, cancel_requested=True).exists()

    def _flush(self) -> None:
        """Stores new metric points and progress, renews the heartbeat and
        tells the job's page."""
        points = self.metrics.read()
        rows = [
            TrainingMetric(
                job=self.job,
                step=p["step"],
                elapsed_seconds=p.get("elapsed_s"),
                values={k: v for k, v in p.items() if k not in _PROGRESS_KEYS},
            )
            for p in points
        ]
        if rows and self.rewind_pending:
            self.job.metrics.filter(step__gte=rows[0].step).delete()
            self.rewind_pending = False
        if rows:
            TrainingMetric.objects.bulk_create(rows)
            last = points[-1]
            self.job.step = last["step"]
            self.job.total_steps = last.get("total_steps") or self.job.total_steps
            self.job.elapsed_seconds = last.get("elapsed_s", self.job.elapsed_seconds)
        self.job.metrics_offset = self.metrics.whole_lines_offset
        self.job.log_tail = self._tail()
        self.job.heartbeat_at = timezone.now()
        self.job.save(
            update_fields=["step", "total_steps", "elapsed_seconds", "metrics_offset", "log_tail", "heartbeat_at"]
        )
        self._send_new_lines()
        if rows:
            events.send_now(self.job.pk, {"type": "job.metrics", "points": [metric_point(row) for row in rows]})
        events.send_now(self.job.pk, events.progress_event(self.job))

    def _send_new_lines(self) -> None:
        with self.lock:
            lines, self.new_lines = self.new_lines, []
        if lines:
            events.send_now(self.job.pk, {"type": "job.log", "lines": lines[-_LOG_LINES_PER_EVENT:]})

    def _stop(self, proc: subprocess.Popen, now: float) -> None:
        """SIGTERM to the recipe (torchrun passes it to its workers), once;
        SIGKILL to its whole process group when the grace period is over."""
        if self.stop_sent_at is None:
            self.note(
                "[job] Cancel requested: asking the recipe to stop "
                f"(SIGTERM, {settings.TRAINING_CANCEL_GRACE_SECONDS:g} s grace)."
            )
            proc.send_signal(signal.SIGTERM)
            self.stop_sent_at = now
        elif not self.killed and now - self.stop_sent_at > settings.TRAINING_CANCEL_GRACE_SECONDS:
            self.note("[job] The recipe did not stop in time: killed (SIGKILL).")
            _kill_group(proc)
            self.killed = True

    def _start_resumed(self) -> None:
        """Before a resumed job's recipe starts: the points the last run
        wrote but did not store (its worker was killed) are stored, and its
        summary, not this run's result, goes."""
        self._flush()
        self.rewind_pending = True
        (self.output_dir / "summary.json").unlink(missing_ok=True)
        if (self.output_dir / "checkpoint").is_dir():
            self.note(f"[job] Resumed: the recipe goes on from its checkpoint in {self.output_dir / 'checkpoint'}.")
        else:
            self.note("[job] Resumed, but the last run left no checkpoint: the recipe starts from the beginning.")

    def run(self) -> None:
        args = recipes.recipe_command(module=self.job.recipe, config_path=str(self.config_path), nproc=self.nproc)
        if self.resumed:
            self._start_resumed()
        self.note("[job] $ " + " ".join(args))
        started = time.monotonic()
        proc = subprocess.Popen(
            args,
            cwd=settings.BASE_DIR,
            env=recipe_environment(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        reader = threading.Thread(
            target=self._read_output, args=(proc.stdout,), name=f"job-{self.job.pk}-log", daemon=True
        )
        reader.start()
        try:
            last_flush = 0.0
            ticks = 0
            while True:
                exited = proc.poll() is not None
                now = time.monotonic()
                if not exited and (
                    self.stop_sent_at is not None or self._cancel_requested(check_database=ticks % 4 == 0)
                ):
                    self._stop(proc, now)
                if exited:
                    break
                if now - last_flush >= _FLUSH_SECONDS:
                    self._flush()
                    last_flush = now
                ticks += 1
                time.sleep(_TICK_SECONDS)
        finally:
            if proc.poll() is None:  # our own code broke: never leave a recipe running
                _kill_group(proc)
                proc.wait()
            reader.join(timeout=30)
            proc.stdout.close()
        try:
            self._flush()
            self._finish(proc.returncode, (time.monotonic() - started) * self.nproc)
        finally:
            self.log_file.close()

    def _summary(self) -> dict | None:
        try:
            return json.loads((self.output_dir / "summary.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def _last_line(self) -> str:
        with self.lock:
            lines = [line for line in self.tail if line.strip() and not line.startswith("[job]")]
        return lines[-1].strip() if lines else "(no output)"

    def _finish(self, returncode: int, compute_seconds: float) -> None:
        job, summary = self.job, self._summary()
        job.exit_code = returncode
        # A resumed job's compute is all its runs'.
        job.compute_seconds = (job.compute_seconds or 0.0) + compute_seconds if self.resumed else compute_seconds
        if summary and isinstance(summary.get("resumed_from_step"), int):
            job.resumed_from_step = summary["resumed_from_step"]
            self.note(f"[job] The recipe resumed from step {job.resumed_from_step} (its checkpoint).")
        if self.stop_sent_at is not None:
            self.note(f"[job] Cancelled; what the recipe wrote is kept in {self.output_dir}.")
            self._send_new_lines()
            _end(job, TrainingJob.State.CANCELLED, log_tail=self._tail())
        elif returncode == 0 and summary and summary.get("status") == "completed":
            with transaction.atomic():
                if recipes.RECIPES[job.kind].output_kind:
                    version = training_job_register_output(job=job, output_dir=self.output_dir, summary=summary)
                    self.note(f"[job] Registered model version {version.name}.")
                else:
                    evaluation_results_record(job=job, output_dir=self.output_dir, summary=summary)
                    self.note("[job] Evaluation recorded: " + _shown(job.results))
                self._send_new_lines()
                _end(job, TrainingJob.State.SUCCEEDED, log_tail=self._tail())
        else:
            if returncode == 0 and summary:
                error = f"The recipe stopped early (status {summary.get('status')!r}) though nobody cancelled the job."
            elif returncode == 0:
                error = "The recipe exited without writing summary.json, so its output is incomplete."
            elif returncode < 0:
                name = signal.Signals(-returncode).name
                error = f"The recipe was killed by {name}" + (" (out of memory?)" if name == "SIGKILL" else "") + "."
            else:
                error = f"The recipe exited with code {returncode}: {self._last_line()}"
            self.note(f"[job] Failed: {error}")
            self._send_new_lines()
            _end(job, TrainingJob.State.FAILED, error=error, log_tail=self._tail())

    def _tail(self) -> str:
        with self.lock:
            return "\n".join(self.tail)[-_LOG_TAIL_CHARS:]


def _shown(results: dict) -> str:
    keys = ("win_rate", "length_controlled_win_rate", "red_team_flagged_share_candidate")
    return ", ".join(f"{key} {results[key]:.3f}" for key in keys if isinstance(results.get(key), float))


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _end(job: TrainingJob, state: str, *, error: str = "", log_tail: str | None = None) -> None:
    job.state = state
    job.error = error[:10_000]
    job.finished_at = timezone.now()
    fields = ["state", "error", "finished_at", "exit_code", "compute_seconds", "resumed_from_step"]
    if log_tail is not None:
        job.log_tail = log_tail
        fields.append("log_tail")
    job.save(update_fields=fields)
    logger.info("Training job %s %s%s", job.pk, state, f": {error}" if error else "")
    events.send_on_commit(job.pk, events.progress_event(job))
