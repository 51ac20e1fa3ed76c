"""The labeling data: a pool of prompts, tasks over them (write the ideal
answer, rank K candidates), the annotators' work, the consensus it makes and
the frozen dataset snapshots that training reads.

Writes go through labeling.imports, .assignments, .consensus_store,
.datasets and .services; see labeling.consensus for how rankings are merged
and annotators weighted.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

# Per-candidate problems an annotator can flag while ranking.
FLAG_FACTUALLY_WRONG = "factually_wrong"
FLAG_HARMFUL = "harmful"
FLAG_REFUSES_NEEDLESSLY = "refuses_needlessly"
FLAG_NOT_FOLLOWING_INSTRUCTIONS = "not_following_instructions"
FLAG_SPAM = "spam"
CANDIDATE_FLAGS = {
    FLAG_FACTUALLY_WRONG: "Factually wrong",
    FLAG_HARMFUL: "Harmful",
    FLAG_REFUSES_NEEDLESSLY: "Refuses needlessly",
    FLAG_NOT_FOLLOWING_INSTRUCTIONS: "Does not follow instructions",
    FLAG_SPAM: "Spam",
}
# Not an annotator's: a preference snapshot's mark on a person's answer that
# moderation has not let through (labeling.demonstration_moderation).
FLAG_HELD_BY_MODERATION = "held_by_moderation"
# The marks that keep a candidate from ever being a snapshot's `chosen`.
NEVER_CHOSEN_FLAGS = frozenset({FLAG_HARMFUL, FLAG_HELD_BY_MODERATION})

# A ranking task shows between MIN_CANDIDATES and MAX_CANDIDATES answers.
MIN_CANDIDATES = 2
MAX_CANDIDATES = 9


class PromptImport(models.Model):
    """One run of an importer: which file, what came of it. Tasks made from
    its pairs point here, so a snapshot can take exactly one import."""

    class Format(models.TextChoices):
        JSONL = "jsonl", 'JSONL of {"prompt"} or {"messages"}'
        HH = "hh", "Anthropic HH-RLHF chosen/rejected"
        OASST = "oasst", "OpenAssistant message trees"

    format = models.CharField(max_length=8, choices=Format.choices)
    file_name = models.CharField(max_length=500)
    # lines, prompts_created, prompts_duplicate, candidates_created,
    # tasks_created, tasks_duplicate
    counts = models.JSONField(default=dict)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.get_format_display()}: {self.file_name}"


class Prompt(models.Model):
    """A conversation to answer: `messages` is a list of {role, content}
    (an optional system message first, then user and assistant turns in
    turn) ending with a user turn. `content_hash` is over the normalized
    messages, so the same prompt imported twice is one row."""

    class Source(models.TextChoices):
        IMPORT = "import", "Imported"
        ANNOTATOR = "annotator", "Written by an annotator"
        CHAT = "chat", "Shared from chat"
        ARENA = "arena", "Arena"
        # The next user turn an annotator wrote after a chosen answer
        # (labeling.user_replies): the conversation grows a turn deeper.
        USER_REPLY = "user_reply", "Replied as the user"

    messages = models.JSONField()
    source = models.CharField(max_length=16, choices=Source.choices)
    # Where it came from in words: "file.jsonl:12", a tree id.
    source_ref = models.CharField(max_length=500, blank=True, default="")
    content_hash = models.CharField(max_length=64, unique=True)
    prompt_import = models.ForeignKey(
        PromptImport, null=True, blank=True, on_delete=models.SET_NULL, related_name="prompts"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="labeling_prompts"
    )
    # The user message a chat prompt was shared from, while it exists.
    chat_message = models.ForeignKey("chat.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # A user reply's place in its tree: the prompt it continues and the
    # answer it replies to (its messages are the parent's, that answer and
    # the new user turn), and the assignment that wrote it. Kept when the
    # parent goes: the messages hold the whole conversation anyway.
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="continuations")
    parent_candidate = models.ForeignKey(
        "Candidate", null=True, blank=True, on_delete=models.SET_NULL, related_name="continuations"
    )
    reply_assignment = models.OneToOneField(
        "Assignment", null=True, blank=True, on_delete=models.SET_NULL, related_name="user_reply"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["source", "created_at"])]

    def __str__(self):
        text = self.messages[-1]["content"] if self.messages else ""
        return text if len(text) <= 80 else text[:79] + "…"


class Task(models.Model):
    """One item of work on a prompt, done by `required_annotations`
    different annotators: write the ideal answer, rank candidates, label
    one answer on the scales of labeling.label_scales, or write the user's
    next turn after one answer. The answer a label or reply task is about
    is its one TaskCandidate.

    Tasks made by an importer from ready-ranked data (HH-RLHF pairs, ranked
    OpenAssistant replies) need no annotation: their consensus comes with
    them, and `import_fingerprint` keeps the same pair from being imported
    twice.
    """

    class Kind(models.TextChoices):
        DEMONSTRATION = "demonstration", "Write the ideal answer"
        RANKING = "ranking", "Rank candidates"
        LABEL = "label", "Label an answer"
        USER_REPLY = "user_reply", "Reply as the user"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="tasks")
    candidates = models.ManyToManyField("Candidate", through="TaskCandidate", related_name="tasks")
    required_annotations = models.PositiveSmallIntegerField()
    prompt_import = models.ForeignKey(
        PromptImport, null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks"
    )
    import_fingerprint = models.CharField(max_length=64, null=True, blank=True, unique=True)
    # The reward model's smallest score gap between two of a ranking task's
    # candidates, and which reward model it came from (labeling.routing):
    # a small gap is a pair the model cannot tell apart, where a ranking
    # teaches it most. Empty until scored.
    reward_margin = models.FloatField(null=True, blank=True)
    reward_margin_version = models.ForeignKey(
        "registry.ModelVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"{self.get_kind_display()} #{self.pk}"


class Demonstration(models.Model):
    """An answer written by a person: the work of a demonstration task, or
    the better answer a ranker wrote. SFT snapshots are made of these."""

    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="demonstrations")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="demonstrations"
    )
    assignment = models.OneToOneField(
        "Assignment", null=True, blank=True, on_delete=models.SET_NULL, related_name="demonstration"
    )
    content = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Moderation(models.TextChoices):
        # Stored before moderation judged it: no snapshot takes it until it has
        # (labeling.demonstration_moderation).
        PENDING = "pending", "Waiting for moderation"
        PASSED = "passed", "Passed moderation"
        # Flagged: in the moderators' queue; taken again only once one overturns it.
        FLAGGED = "flagged", "Flagged by moderation"
        UNCHECKED = "unchecked", "Written before moderation read demonstrations"

    moderation = models.CharField(max_length=9, choices=Moderation.choices, default=Moderation.PENDING)
    # A flagged one's item in the moderators' queue: its decision says whether it is used.
    review_item = models.ForeignKey(
        "moderation.ReviewItem", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["moderation", "created_at"], name="labeling_demo_moderation")]

    def __str__(self):
        return f"Demonstration #{self.pk} for prompt #{self.prompt_id}"


class Candidate(models.Model):
    """One answer to a prompt that can be ranked. The same text (normalized)
    is one candidate per prompt, whichever way it arrived."""

    class Origin(models.TextChoices):
        MODEL = "model", "Generated by a model version"
        DEMONSTRATION = "demonstration", "Written by an annotator"
        IMPORTED = "imported", "Imported"

    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="candidates")
    text = models.TextField(blank=True)
    text_hash = models.CharField(max_length=64)
    origin = models.CharField(max_length=16, choices=Origin.choices)
    model_version = models.ForeignKey(
        "registry.ModelVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    demonstration = models.ForeignKey(
        Demonstration, null=True, blank=True, on_delete=models.SET_NULL, related_name="candidates"
    )
    sampling = models.JSONField(default=dict, blank=True)
    # Why the model stopped writing it, as chat's Message.finish_reason:
    # "length" when it reached max_new_tokens, so the answer is cut off
    # (annotators are told, so they judge a truncated answer as such);
    # "stop" when it ended its turn; empty when not known (written by a
    # person, imported, or stored before the field).
    finish_reason = models.CharField(max_length=16, blank=True, default="")
    # A chat answer its user gave a thumbs-down (labeling.from_chat): the
    # feedback whose reasons travel with it. Labeling points at chat, which
    # knows nothing of the pool.
    source_feedback = models.ForeignKey(
        "chat.Feedback", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["prompt", "text_hash"], name="labeling_candidate_once_per_prompt")
        ]

    def __str__(self):
        return f"Candidate #{self.pk} ({self.origin}) for prompt #{self.prompt_id}"


class TaskCandidate(models.Model):
    """A candidate of a ranking task at its place on screen, shuffled once
    when the task is made so no origin always shows first."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="task_candidates")
    candidate = models.ForeignKey(Candidate, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["task", "position"]
        constraints = [
            models.UniqueConstraint(fields=["task", "candidate"], name="labeling_candidate_once_per_task"),
            models.UniqueConstraint(fields=["task", "position"], name="labeling_one_candidate_per_position"),
        ]

    def __str__(self):
        return f"Candidate #{self.candidate_id} at {self.position} in task #{self.task_id}"


class Assignment(models.Model):
    """A task handed to one annotator, at most once (the constraint), under
    a lease: a lease left to expire frees the task's place for someone
    else."""

    class State(models.TextChoices):
        LEASED = "leased", "Leased"
        SUBMITTED = "submitted", "Submitted"
        SKIPPED = "skipped", "Skipped"
        EXPIRED = "expired", "Expired"

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="assignments")
    # Deleting an annotator would delete their rankings and silently change
    # past consensus; accounts are deactivated instead.
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="assignments")
    state = models.CharField(max_length=16, choices=State.choices, default=State.LEASED)
    leased_at = models.DateTimeField(auto_now_add=True)
    lease_expires_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    skip_reason = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["state", "lease_expires_at"]), models.Index(fields=["annotator", "state"])]
        constraints = [models.UniqueConstraint(fields=["task", "annotator"], name="labeling_task_once_per_annotator")]

    def __str__(self):
        return f"Task #{self.task_id} for annotator #{self.annotator_id} ({self.state})"


class Ranking(models.Model):
    """An annotator's ranking: `groups` lists candidate ids best first, the
    candidates of one group tied; `flags` maps a candidate id (as text, JSON
    keys are) to the flags raised on it. `agreement` is this ranking's
    agreement with the consensus of the item's other rankings, refreshed
    with the consensus."""

    assignment = models.OneToOneField(Assignment, on_delete=models.CASCADE, related_name="ranking")
    groups = models.JSONField()
    none_acceptable = models.BooleanField(default=False)
    better_answer = models.TextField(blank=True, default="")
    flags = models.JSONField(default=dict, blank=True)
    agreement = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"Ranking of assignment #{self.assignment_id}"


class Consensus(models.Model):
    """The merged ranking of one task: groups best first, each candidate's
    weighted mean Borda score, how well the rankings agree, and what the
    weighted majority said (none acceptable; flags per candidate)."""

    class Method(models.TextChoices):
        BORDA = "borda", "Weighted Borda count"
        IMPORTED = "imported", "Imported with the data"
        # One arena user's vote: no annotator saw it, so preference
        # snapshots leave it out unless they ask for arena votes.
        ARENA = "arena", "One arena vote"

    task = models.OneToOneField(Task, on_delete=models.CASCADE, related_name="consensus")
    method = models.CharField(max_length=16, choices=Method.choices)
    groups = models.JSONField()
    scores = models.JSONField()
    agreement = models.FloatField(null=True, blank=True)
    num_rankings = models.PositiveIntegerField(default=0)
    none_acceptable = models.BooleanField(default=False)
    flags = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "consensus"

    def __str__(self):
        return f"Consensus of task #{self.task_id} ({self.method}, {self.num_rankings} rankings)"


class AnswerLabel(models.Model):
    """An annotator's labels of one answer: `values` maps each scale of
    labeling.label_scales to its value (1..5 on a Likert scale, true or
    false on a yes/no one)."""

    assignment = models.OneToOneField(Assignment, on_delete=models.CASCADE, related_name="answer_label")
    candidate = models.ForeignKey(Candidate, on_delete=models.CASCADE, related_name="labels")
    values = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"Labels of candidate #{self.candidate_id} by assignment #{self.assignment_id}"


class AnswerLabelConsensus(models.Model):
    """What an answer's labels say together, per scale (labeling.
    label_scales.labels_consensus): the mean and spread of a Likert scale,
    the share of yes and the majority of a yes/no one."""

    candidate = models.OneToOneField(Candidate, on_delete=models.CASCADE, related_name="label_consensus")
    scales = models.JSONField()
    num_labels = models.PositiveIntegerField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "answer label consensus"

    def __str__(self):
        return f"Label consensus of candidate #{self.candidate_id} ({self.num_labels} labels)"


class AnnotatorStats(models.Model):
    """An annotator's agreement with consensus (smoothed towards a prior)
    and the weight it gives their votes."""

    annotator = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="labeling_stats")
    num_rankings = models.PositiveIntegerField(default=0)
    agreement = models.FloatField()
    weight = models.FloatField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "annotator stats"

    def __str__(self):
        return f"Annotator #{self.annotator_id}: agreement {self.agreement:.2f}, weight {self.weight:.2f}"


class DatasetSnapshot(models.Model):
    """A frozen, versioned dataset.

    Its rows are written once, as canonical JSONL, to `path` under
    DATA_DIR, and `content_hash` is the sha256 of that file. A file rather
    than rows in the database because training recipes (which import no
    Django) read files, because the hashed bytes are then exactly the bytes
    trained on, and because a preference snapshot of thousands of rankings
    would otherwise copy every text into a second table. Reading a snapshot
    checks the hash, so a file changed behind its back is refused rather
    than trained on.
    """

    class Kind(models.TextChoices):
        SFT = "sft", "Demonstrations (SFT)"
        PREFERENCE = "preference", "Preferences (reward model, DPO, KTO)"
        # Chat answers their users rated thumbs up or down (labeling.from_chat.
        # judged_answer_items): one answer and its label per row, no pair.
        FEEDBACK = "feedback", "Judged chat answers (KTO)"
        # Answers labelled on the scales of labeling.label_scales, each
        # annotator's labels and their consensus (labeling.datasets.label_items).
        LABELS = "labels", "Answer labels (Likert scales)"
        # Conversations that user replies grew past one turn: each root
        # prompt's tree of answers and replies (labeling.datasets.tree_items).
        CONVERSATIONS = "conversations", "Multi-turn conversation trees"

    name = models.SlugField(max_length=100)
    version = models.PositiveIntegerField()
    kind = models.CharField(max_length=16, choices=Kind.choices)
    filters = models.JSONField(default=dict, blank=True)
    content_hash = models.CharField(max_length=64)
    item_count = models.PositiveIntegerField()
    # Krippendorff's alpha and Kendall's W of the rankings behind a
    # preference snapshot's items (labeling.selectors.rankings_agreement),
    # stored when it is made so its figures stay those of its rows; empty
    # for SFT snapshots and those made before the figures were recorded.
    agreement_stats = models.JSONField(default=dict, blank=True)
    # Relative to DATA_DIR, so the data directory can move.
    path = models.CharField(max_length=500)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["name", "version"], name="labeling_snapshot_version_once"),
            models.CheckConstraint(condition=Q(version__gte=1), name="labeling_snapshot_version_from_one"),
        ]

    def __str__(self):
        return f"{self.name}@{self.version}"


class Guidelines(models.Model):
    """What annotators are asked to do for one kind of task, in Markdown,
    shown beside the work. A row rather than a setting so admins can
    sharpen it when they see the same mistake twice, without a deploy;
    labeling.guidelines holds the text used until a row exists."""

    kind = models.CharField(max_length=16, choices=Task.Kind.choices, unique=True)
    text = models.TextField()
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "guidelines"

    def __str__(self):
        return f"Guidelines: {self.get_kind_display()}"


class CandidateGeneration(models.Model):
    """An admin's request to generate K candidates for one prompt from some
    model versions and make its ranking task. The Celery task works from
    this row and claims it (queued -> running), so a task delivered twice
    generates once, and the admin page shows how each request went."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="candidate_generations")
    model_versions = models.ManyToManyField("registry.ModelVersion", related_name="+")
    k = models.PositiveSmallIntegerField()
    required_annotations = models.PositiveSmallIntegerField()
    max_new_tokens = models.PositiveIntegerField()
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    error = models.TextField(blank=True, default="")
    task = models.OneToOneField(Task, null=True, blank=True, on_delete=models.SET_NULL, related_name="generation")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # Set when a worker claims the row; a row running for longer than
    # LABELING_GENERATION_TIMEOUT_MINUTES lost its worker (services.
    # candidate_generations_expire).
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return f"Generation #{self.pk} for prompt #{self.prompt_id} ({self.state})"


class GoldItem(models.Model):
    """A ranking or label task with a known answer (labeling.gold): served
    to annotators unannounced, at LABELING_GOLD_RATE, to measure them. Its
    answers are scored against `reference` (a ranking task) or `verdict` (a
    label task) and kept out of consensus, so they move neither the item's
    data nor anyone's agreement. Retiring one (`active` off) stops serving
    it; its scored answers stay."""

    class Source(models.TextChoices):
        CONSENSUS = "consensus", "The task's consensus"
        MANUAL = "manual", "Set by an admin"

    class Verdict(models.TextChoices):
        ACCEPT = "accept", "Accept"
        REJECT = "reject", "Reject"

    task = models.OneToOneField(Task, on_delete=models.CASCADE, related_name="gold")
    # A ranking task's: groups of candidate ids, best first, as a Ranking's.
    reference = models.JSONField(null=True, blank=True)
    # A label task's: whether its answer is acceptable (labeling.gold.
    # label_verdict says what an annotator's labels make of it).
    verdict = models.CharField(max_length=8, choices=Verdict.choices, blank=True)
    source = models.CharField(max_length=16, choices=Source.choices)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(reference__isnull=False, verdict="")
                | Q(reference__isnull=True, verdict__in=["accept", "reject"]),
                name="labeling_gold_reference_or_verdict",
            )
        ]

    def __str__(self):
        return f"Gold item for task #{self.task_id}"


class GoldAnswer(models.Model):
    """An annotator's answer to a gold item: a ranking, scored against its
    reference (labeling.consensus.pairwise_agreement: Kendall's tau mapped
    onto 0..1) with whether their top choice was the reference's; or a
    label, scored 1 when its verdict is the item's and 0 when not (no top
    choice: `top_match` empty)."""

    ranking = models.OneToOneField(Ranking, null=True, blank=True, on_delete=models.CASCADE, related_name="gold_answer")
    answer_label = models.OneToOneField(
        AnswerLabel, null=True, blank=True, on_delete=models.CASCADE, related_name="gold_answer"
    )
    gold_item = models.ForeignKey(GoldItem, on_delete=models.CASCADE, related_name="answers")
    score = models.FloatField()
    top_match = models.BooleanField(null=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ranking__isnull=False, answer_label__isnull=True)
                | Q(ranking__isnull=True, answer_label__isnull=False),
                name="labeling_gold_answer_ranking_or_label",
            )
        ]

    def __str__(self):
        return f"Gold answer {self.score:.2f} to task #{self.gold_item.task_id}"


class GoldHold(models.Model):
    """An annotator held for review: their gold accuracy fell under
    LABELING_GOLD_HOLD_BELOW, so they get gold tasks only until an admin
    clears the hold (who and when are kept). Only gold answers given after
    the last cleared hold count towards the next one."""

    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="gold_holds")
    accuracy = models.FloatField()
    num_answers = models.PositiveIntegerField()
    held_at = models.DateTimeField(auto_now_add=True)
    cleared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    cleared_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["annotator"], condition=Q(cleared_at__isnull=True), name="labeling_one_open_gold_hold"
            )
        ]

    def __str__(self):
        state = "cleared" if self.cleared_at else "held"
        return f"Annotator #{self.annotator_id} {state} at gold accuracy {self.accuracy:.2f}"
