"""The new-job form: which inputs each kind needs, and hyper-parameters as a
JSON object merged over the chosen preset."""

import codecs
import json

from django import forms

from evaluation.models import EvaluationSet
from labeling.models import DatasetSnapshot
from registry.models import ModelVersion
from registry.selectors import serving_model_version

from . import recipes
from .selectors import corpus_choices

MAX_CORPUS_BYTES = 512 * 1024 * 1024
_SCALARS = (str, int, float, bool, type(None))


def _clean_value(key: str, value):
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, list) and all(isinstance(item, _SCALARS) for item in value):
        return value
    raise forms.ValidationError(f"Hyper-parameter {key!r} must be a number, text, true/false, null or a list of those.")


def fields_by_kind() -> dict[str, list[str]]:
    """The inputs each kind uses (from its RecipeSpec), for the form's
    script to show only those."""
    return {
        kind: ["base_version"]
        + (["reward_version"] if spec.reward_key else [])
        + (["snapshot"] if spec.snapshot_kinds else [])
        + (["corpus", "corpus_upload"] if spec.data in (recipes.CORPUS, recipes.EVALUATION) else [])
        + (["baseline_version", "judge_versions"] if spec.baseline_key else [])
        + (["evaluation_set", "red_team_set"] if spec.data == recipes.EVALUATION else [])
        for kind, spec in recipes.RECIPES.items()
    }


class TrainingJobForm(forms.Form):
    kind = forms.ChoiceField(choices=recipes.KIND_CHOICES)
    preset = forms.ChoiceField(choices=list(recipes.PRESETS.items()))
    base_version = forms.ModelChoiceField(
        ModelVersion.objects.exclude(kind=ModelVersion.Kind.CLASSIFIER),
        required=False,
        help_text=(
            "The model to train from (PPO: the policy; an evaluation: the candidate). "
            "Pre-training: optional, lends its tokenizer."
        ),
    )
    reward_version = forms.ModelChoiceField(
        ModelVersion.objects.filter(kind=ModelVersion.Kind.REWARD), required=False, help_text="PPO only."
    )
    snapshot = forms.ModelChoiceField(DatasetSnapshot.objects.all(), required=False)
    baseline_version = forms.ModelChoiceField(
        ModelVersion.objects.filter(kind=ModelVersion.Kind.POLICY),
        required=False,
        help_text="Evaluation: the policy the candidate is compared with; none: the one serving chat.",
    )
    judge_versions = forms.ModelMultipleChoiceField(
        ModelVersion.objects.filter(kind=ModelVersion.Kind.REWARD),
        required=False,
        label="Judges",
        help_text="Evaluation: reward models that score both answers; not one the candidate was trained against.",
    )
    evaluation_set = forms.ModelChoiceField(
        EvaluationSet.objects.filter(purpose=EvaluationSet.Purpose.GENERAL),
        required=False,
        help_text="Evaluation: the held-out prompts both models answer.",
    )
    red_team_set = forms.ModelChoiceField(
        EvaluationSet.objects.filter(purpose=EvaluationSet.Purpose.RED_TEAM),
        required=False,
        help_text="Evaluation, optional: prompts whose answers output moderation judges.",
    )
    corpus = forms.ChoiceField(
        required=False,
        help_text=(
            "Pre-training: a text file under the data directory's corpora/. "
            "Evaluation, optional: held-out text for bits per byte."
        ),
    )
    corpus_upload = forms.FileField(required=False, help_text="Or upload a UTF-8 text file.")
    hyperparameters = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 12, "spellcheck": "false"}),
        required=False,
        help_text="A JSON object; its keys override the preset's.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["corpus"].choices = [("", "—")] + [(path, path) for path in corpus_choices()]

    def clean_hyperparameters(self) -> dict:
        text = self.cleaned_data["hyperparameters"].strip()
        if not text:
            return {}
        try:
            values = json.loads(text)
        except ValueError as error:
            raise forms.ValidationError(f"Hyper-parameters are not valid JSON: {error}.") from None
        if not isinstance(values, dict):
            raise forms.ValidationError("Hyper-parameters must be a JSON object of names and values.")
        for key, value in values.items():
            if key in recipes.RESERVED_KEYS:
                raise forms.ValidationError(
                    f"{key!r} is set by the job from the versions and data chosen; leave it out."
                )
            _clean_value(key, value)
        return values

    def clean_corpus_upload(self):
        """At most MAX_CORPUS_BYTES of UTF-8 text: a binary file chosen by
        mistake is refused here, not an hour into a job."""
        upload = self.cleaned_data.get("corpus_upload")
        if upload is None:
            return None
        if upload.size > MAX_CORPUS_BYTES:
            raise forms.ValidationError(f"The corpus is larger than {MAX_CORPUS_BYTES // 2**20} MiB.")
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            for chunk in upload.chunks():
                if b"\x00" in chunk:
                    raise forms.ValidationError("The corpus holds NUL bytes: upload a text file.")
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise forms.ValidationError("The corpus is not UTF-8 text.") from None
        upload.seek(0)
        return upload

    def clean(self):
        data = super().clean()
        kind, preset = data.get("kind"), data.get("preset")
        if not kind or not preset:
            return data
        spec = recipes.RECIPES[kind]
        base, snapshot = data.get("base_version"), data.get("snapshot")
        if spec.base_required and base is None:
            self.add_error("base_version", f"{spec.label} needs a base model version.")
        if base is not None and base.kind not in spec.base_kinds:
            wanted = " or ".join(ModelVersion.Kind(k).label.lower() for k in spec.base_kinds)
            self.add_error(
                "base_version", f"{spec.label} starts from a {wanted}; {base} is a {base.get_kind_display().lower()}."
            )
        if spec.reward_key and data.get("reward_version") is None:
            self.add_error("reward_version", f"{spec.label} needs a reward model version.")
        if not spec.reward_key:
            data["reward_version"] = None
        if spec.snapshot_kinds:
            if snapshot is None:
                self.add_error("snapshot", f"{spec.label} needs a dataset snapshot.")
            elif snapshot.kind not in spec.snapshot_kinds:
                wanted = " or ".join(DatasetSnapshot.Kind(k).label for k in spec.snapshot_kinds)
                self.add_error("snapshot", f"{snapshot} holds {snapshot.get_kind_display()}; {kind} needs {wanted}.")
        else:
            data["snapshot"] = None
        if spec.data == recipes.CORPUS:
            if not data.get("corpus") and not data.get("corpus_upload"):
                self.add_error("corpus", f"{spec.label} needs a corpus: choose a file or upload one.")
        elif spec.data != recipes.EVALUATION:
            data["corpus"], data["corpus_upload"] = "", None
        if spec.baseline_key:
            self._clean_evaluation(data, base)
        else:
            data.update(baseline_version=None, judge_versions=[], evaluation_set=None, red_team_set=None)
        try:
            defaults = recipes.preset_values(kind, preset)
        except ValueError as error:
            self.add_error("preset", str(error))
        else:
            data["hyperparameters"] = {**defaults, **data.get("hyperparameters", {})}
        return data

    def _clean_evaluation(self, data: dict, candidate) -> None:
        """An evaluation's inputs: a baseline (the serving policy unless
        one is chosen) that is not the candidate, at least one judge, none
        of them a reward model the candidate was trained against (a policy
        wins by its own judge's measure whether or not it is better), and
        an evaluation set."""
        baseline = data.get("baseline_version") or serving_model_version()
        if baseline is None:
            self.add_error("baseline_version", "No policy serves chat: choose the baseline.")
        elif candidate is not None and baseline.pk == candidate.pk:
            self.add_error("baseline_version", "The candidate and the baseline are the same version.")
        data["baseline_version"] = baseline
        judges = list(data.get("judge_versions") or [])
        if not judges:
            self.add_error("judge_versions", "Choose at least one reward model to judge the answers.")
        trained_against = _reward_models_trained_against(candidate) if candidate is not None else set()
        for judge in judges:
            if judge.pk in trained_against:
                self.add_error(
                    "judge_versions",
                    f"{candidate} was trained against {judge}: choose judges it never saw.",
                )
        if data.get("evaluation_set") is None:
            self.add_error("evaluation_set", "Choose the evaluation set the two versions answer.")


def _reward_models_trained_against(version) -> set[int]:
    """The reward models of the PPO jobs in `version`'s lineage."""
    found, seen = set(), set()
    while version is not None and version.pk not in seen:
        seen.add(version.pk)
        job = version.job
        if job is not None and job.reward_version_id:
            found.add(job.reward_version_id)
        version = version.base
    return found
