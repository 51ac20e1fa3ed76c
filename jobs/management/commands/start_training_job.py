"""`python manage.py start_training_job`: the new-job form from a shell, for
scripts and measurements. The same checks as the page; --resume JOB queues
a failed or cancelled job again (it goes on from its checkpoint), as the
job page's button does; --wait follows the job until it ends (a training
worker must be running). `--kind evaluate --base CANDIDATE --judge RM
--evaluation-set NAME [--baseline V] [--red-team-set NAME]` evaluates a
version against the serving one (or --baseline)."""

import json
import time
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from core.errors import UserError
from evaluation.models import EvaluationSet
from jobs.forms import TrainingJobForm
from jobs.models import TrainingJob
from jobs.recipes import RECIPES
from jobs.services import corpus_store, training_job_create, training_job_resume
from labeling.datasets import snapshot_get
from labeling.models import DatasetSnapshot
from registry.models import ModelVersion

_FINAL = (TrainingJob.State.SUCCEEDED, TrainingJob.State.FAILED, TrainingJob.State.CANCELLED)


def _value(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return text


class Command(BaseCommand):
    help = "Queues a training job (as the new-job page does), or resumes one, and optionally waits for it."

    def add_arguments(self, parser):
        start = parser.add_mutually_exclusive_group(required=True)
        start.add_argument("--kind", choices=list(RECIPES))
        start.add_argument("--resume", type=int, metavar="JOB", help="queue this failed or cancelled job again")
        parser.add_argument("--preset", default="cpu-quick")
        parser.add_argument("--base", help="base model version's name (PPO: the policy)")
        parser.add_argument("--reward", help="PPO: the reward model version's name")
        parser.add_argument("--snapshot", help="dataset snapshot, NAME or NAME@VERSION")
        parser.add_argument(
            "--corpus",
            help="pre-training (an evaluation: held-out text): a UTF-8 text file (copied under DATA_DIR/corpora/)",
        )
        parser.add_argument("--baseline", help="evaluation: the baseline policy's name (default: the serving one)")
        parser.add_argument(
            "--judge", dest="judges", action="append", default=[], help="evaluation: a judge reward model (repeatable)"
        )
        parser.add_argument("--evaluation-set", help="evaluation: the evaluation set's name")
        parser.add_argument("--red-team-set", help="evaluation: a red-team evaluation set's name")
        parser.add_argument(
            "--set",
            dest="overrides",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="a hyper-parameter over the preset's (repeatable; JSON values)",
        )
        parser.add_argument("--user", default="admin", help="the account a new job belongs to")
        parser.add_argument("--wait", action="store_true", help="print progress until the job ends")

    def _version(self, name):
        if not name:
            return ""
        try:
            return ModelVersion.objects.get(name=name).pk
        except ModelVersion.DoesNotExist:
            raise CommandError(f"No model version is named {name!r}.") from None

    def _set(self, name):
        if not name:
            return ""
        try:
            return EvaluationSet.objects.get(name=name).pk
        except EvaluationSet.DoesNotExist:
            raise CommandError(f"No evaluation set is named {name!r}.") from None

    def handle(self, *args, **options):
        job = self._resume(options["resume"]) if options["resume"] is not None else self._create(options)
        if options["wait"]:
            self._follow(job)

    def _resume(self, job_id: int) -> TrainingJob:
        try:
            job = training_job_resume(job=TrainingJob.objects.get(pk=job_id))
        except TrainingJob.DoesNotExist:
            raise CommandError(f"No training job #{job_id}.") from None
        except UserError as error:
            raise CommandError(error.message) from None
        self.stdout.write(f"Job #{job.pk} queued again ({job.recipe}); it goes on from its last checkpoint.")
        return job

    def _create(self, options) -> TrainingJob:
        try:
            user = get_user_model().objects.get(username=options["user"])
        except get_user_model().DoesNotExist:
            raise CommandError(f"No user is named {options['user']!r}.") from None
        overrides = {}
        for item in options["overrides"]:
            key, sep, text = item.partition("=")
            if not sep:
                raise CommandError(f"--set {item!r}: expected KEY=VALUE.")
            overrides[key.strip()] = _value(text)
        snapshot = ""
        if options["snapshot"]:
            try:
                snapshot = snapshot_get(spec=options["snapshot"]).pk
            except DatasetSnapshot.DoesNotExist as error:
                raise CommandError(str(error)) from None
        corpus = ""
        if options["corpus"]:
            path = Path(options["corpus"])
            if not path.is_file():
                raise CommandError(f"{path} is not a file.")
            with open(path, "rb") as stream:
                corpus = corpus_store(name=path.name, chunks=iter(lambda: stream.read(1 << 20), b""))
        form = TrainingJobForm(
            {
                "kind": options["kind"],
                "preset": options["preset"],
                "base_version": self._version(options["base"]),
                "reward_version": self._version(options["reward"]),
                "snapshot": snapshot,
                "corpus": corpus,
                "baseline_version": self._version(options["baseline"]),
                "judge_versions": [self._version(name) for name in options["judges"]],
                "evaluation_set": self._set(options["evaluation_set"]),
                "red_team_set": self._set(options["red_team_set"]),
                "hyperparameters": json.dumps(overrides),
            }
        )
        if not form.is_valid():
            raise CommandError("; ".join(f"{name}: {' '.join(errors)}" for name, errors in form.errors.items()))
        data = form.cleaned_data
        job = training_job_create(
            created_by=user,
            kind=data["kind"],
            preset=data["preset"],
            hyperparameters=data["hyperparameters"],
            base_version=data["base_version"],
            reward_version=data["reward_version"],
            snapshot=data["snapshot"],
            corpus_path=data["corpus"],
            baseline_version=data["baseline_version"],
            judge_versions=data["judge_versions"],
            evaluation_set=data["evaluation_set"],
            red_team_set=data["red_team_set"],
        )
        self.stdout.write(f"Job #{job.pk} queued ({job.recipe}).")
        return job

    def _follow(self, job: TrainingJob) -> None:
        shown = 0
        while True:
            job.refresh_from_db()
            for metric in job.metrics.order_by("id")[shown:]:
                values = " ".join(
                    f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in metric.values.items()
                )
                self.stdout.write(f"step {metric.step}/{job.total_steps or '?'} {values}")
                shown += 1
            if job.state in _FINAL:
                break
            time.sleep(2)
        wall = (job.finished_at - job.started_at).total_seconds() if job.started_at else 0.0
        if job.state != TrainingJob.State.SUCCEEDED:
            raise CommandError(f"Job #{job.pk} {job.state} after {wall:.0f} s: {job.error}")
        if job.kind == "evaluate":
            shown = ", ".join(f"{k} {v:.4g}" for k, v in job.results.items() if isinstance(v, float))
            self.stdout.write(f"Job #{job.pk} succeeded in {wall:.0f} s: {shown}.")
        else:
            self.stdout.write(f"Job #{job.pk} succeeded in {wall:.0f} s: model version {job.output_version.name}.")
