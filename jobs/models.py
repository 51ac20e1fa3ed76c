from django.conf import settings
from django.db import models

from .recipes import KIND_CHOICES


class TrainingJob(models.Model):
    """One run of a training recipe (training.<kind>) started from the web.

    The web creates it `queued`; the training worker claims it (`running`),
    runs the recipe as a subprocess in `directory`, and ends it `succeeded`
    (its output registered as a model version), `failed` or `cancelled`.
    `heartbeat_at` is renewed while the worker lives, so a job whose worker
    died is found and failed (selectors/services: jobs_reap_stale).
    A failed or cancelled job can be resumed: queued again, it runs in the
    same directory, where the recipe resumes from its checkpoint
    (services: training_job_resume).
    """

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    kind = models.CharField(max_length=16, choices=KIND_CHOICES)
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="training_jobs"
    )
    # The model trained from (PPO: the policy); none for pre-training from scratch.
    base_version = models.ForeignKey(
        "registry.ModelVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="training_jobs"
    )
    # PPO only: the reward model scoring the rollouts.
    reward_version = models.ForeignKey(
        "registry.ModelVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="ppo_jobs"
    )
    snapshot = models.ForeignKey(
        "labeling.DatasetSnapshot", null=True, blank=True, on_delete=models.PROTECT, related_name="training_jobs"
    )
    # Evaluation only: the base version is the candidate, compared with this
    # baseline on the evaluation set's prompts (and the red-team set's),
    # judged by these reward models.
    baseline_version = models.ForeignKey(
        "registry.ModelVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="baseline_evaluations"
    )
    judge_versions = models.ManyToManyField("registry.ModelVersion", blank=True, related_name="judged_evaluations")
    evaluation_set = models.ForeignKey(
        "evaluation.EvaluationSet", null=True, blank=True, on_delete=models.PROTECT, related_name="evaluation_jobs"
    )
    red_team_set = models.ForeignKey(
        "evaluation.EvaluationSet", null=True, blank=True, on_delete=models.PROTECT, related_name="red_team_jobs"
    )
    # A finished evaluation's figures (training.evaluate's, and the share of
    # red-team answers output moderation flags).
    results = models.JSONField(default=dict, blank=True)
    # Pre-training only: a text file, relative to DATA_DIR (under corpora/).
    corpus_path = models.CharField(max_length=500, blank=True, default="")
    preset = models.CharField(max_length=32)
    hyperparameters = models.JSONField(default=dict, blank=True)
    # The recipe module, fixed when the job is created (TRAINING_RECIPE_PACKAGE + kind).
    recipe = models.CharField(max_length=200)

    # Filled in by the worker.
    directory = models.CharField(max_length=500, blank=True, default="")
    config = models.JSONField(default=dict, blank=True)
    input_hash = models.CharField(max_length=64, blank=True, default="")
    # The checkout the recipe ran from (git commit), read when it started.
    code_version = models.CharField(max_length=100, blank=True, default="")
    step = models.PositiveIntegerField(default=0)
    # How much of output/metrics.jsonl is stored as metrics (whole lines, in
    # bytes): a resumed job's run reads on from there.
    metrics_offset = models.PositiveBigIntegerField(default=0)
    # The step the recipe's checkpoint held when the latest run started
    # (its summary's resumed_from_step); null when it started from scratch.
    resumed_from_step = models.PositiveIntegerField(null=True, blank=True)
    total_steps = models.PositiveIntegerField(null=True, blank=True)
    elapsed_seconds = models.FloatField(null=True, blank=True)
    log_tail = models.TextField(blank=True, default="")
    error = models.TextField(blank=True, default="")
    exit_code = models.IntegerField(null=True, blank=True)
    compute_seconds = models.FloatField(null=True, blank=True)
    cancel_requested = models.BooleanField(default=False)
    # The latest Celery message sent for it (dispatch sends again a lost one).
    task_id = models.CharField(max_length=64, blank=True, default="")
    dispatched_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"#{self.pk} {self.kind}"

    @property
    def is_active(self) -> bool:
        return self.state in (self.State.QUEUED, self.State.RUNNING)

    @property
    def is_resumable(self) -> bool:
        """Ended without an output: it may be queued again (a succeeded job
        registered its model and is done)."""
        return self.state in (self.State.FAILED, self.State.CANCELLED)


class TrainingMetric(models.Model):
    """One line of the recipe's metrics.jsonl: a step and its metrics."""

    job = models.ForeignKey(TrainingJob, on_delete=models.CASCADE, related_name="metrics")
    step = models.PositiveIntegerField()
    elapsed_seconds = models.FloatField(null=True, blank=True)
    values = models.JSONField()

    class Meta:
        ordering = ["job", "id"]

    def __str__(self):
        return f"job #{self.job_id} step {self.step}"


class PromotionRecord(models.Model):
    """The audit log of "serve chat": who made which policy serve, in place
    of which, on the strength of which evaluation, and, where the gate did
    not pass (jobs.promotion), the reason the admin gave to promote anyway."""

    version = models.ForeignKey("registry.ModelVersion", on_delete=models.PROTECT, related_name="promotions")
    previous = models.ForeignKey(
        "registry.ModelVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="replaced_by"
    )
    promoted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="promotions"
    )
    evaluation = models.ForeignKey(
        TrainingJob, null=True, blank=True, on_delete=models.PROTECT, related_name="promotions"
    )
    gate_passed = models.BooleanField()
    gate_reason = models.TextField()
    override_reason = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.version} promoted {self.created_at:%Y-%m-%d %H:%M}"
