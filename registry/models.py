from django.db import models
from django.db.models import Q


class ModelVersion(models.Model):
    """One trained or imported model, with where it came from.

    At most one version of each kind serves (`is_serving`): the policy that
    answers chat, the classifier that moderates (reward and value models
    serve nothing); promotion swaps it in one transaction (see
    services.model_version_promote). Besides
    the serving one, a policy plays in the arena only once an admin enabled
    it there and a smoke generation passed (arena.eligibility): anyone
    allowed to train registers versions, and the arena shows them to users.
    Likewise a policy is offered in chat's model picker only once an admin
    made it available there (`chat_available`, registry.chat_versions),
    under its `chat_label` and `description`; the serving one always is.
    """

    class ArenaCheck(models.TextChoices):
        NONE = "", "Not checked"
        CHECKING = "checking", "Checking"
        PASSED = "passed", "Passed"
        FAILED = "failed", "Failed"

    class Kind(models.TextChoices):
        POLICY = "policy", "Policy (chat model)"
        REWARD = "reward", "Reward model"
        VALUE = "value", "Value model"
        CLASSIFIER = "classifier", "Classifier"

    class Source(models.TextChoices):
        BUNDLED = "bundled", "Bundled with the app"
        IMPORTED = "imported", "Imported directory or hub id"
        TRAINED = "trained", "Trained here"

    name = models.SlugField(max_length=100, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.POLICY)
    source = models.CharField(max_length=16, choices=Source.choices)
    # A local directory, or a hub id for users with a network.
    path = models.CharField(max_length=500)
    base = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="derived")
    # Lineage of a trained version: the job that wrote it and the data it
    # learnt from (metadata["lineage"] keeps the same facts as text, with the
    # snapshot's hash and the config, should these rows ever go).
    job = models.OneToOneField(
        "jobs.TrainingJob", null=True, blank=True, on_delete=models.SET_NULL, related_name="output_version"
    )
    snapshot = models.ForeignKey(
        "labeling.DatasetSnapshot", null=True, blank=True, on_delete=models.SET_NULL, related_name="model_versions"
    )
    description = models.TextField(blank=True, default="")
    metadata = models.JSONField(default=dict, blank=True)
    is_serving = models.BooleanField(default=False)
    arena_enabled = models.BooleanField(default=False)
    # The smoke generation an admin's enabling waits for, and why it failed.
    arena_check = models.CharField(max_length=16, choices=ArenaCheck.choices, blank=True, default=ArenaCheck.NONE)
    arena_check_error = models.TextField(blank=True, default="")
    # Offered in chat's model picker (the serving version always is), under
    # this name where one is given, else `name`.
    chat_available = models.BooleanField(default=False)
    chat_label = models.CharField(max_length=80, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["kind"], condition=Q(is_serving=True), name="one_serving_version_per_kind")
        ]

    def __str__(self):
        return self.name
