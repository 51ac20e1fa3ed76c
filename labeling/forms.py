"""Input of the labeling pages, checked before any service runs."""

import gzip
import io
import zlib

from django import forms
from django.conf import settings

from registry.models import ModelVersion

from .datasets import SFT_TASK_KINDS
from .models import MAX_CANDIDATES, MIN_CANDIDATES, DatasetSnapshot, Prompt, PromptImport, Task

SKIP_REASON_MAX_CHARS = 500
ANSWER_MAX_CHARS = 20000
PREVIEW_MAX_CHARS = ANSWER_MAX_CHARS
PROMPT_MAX_CHARS = 16000
GENERATION_MAX_PROMPTS = 500
GUIDELINES_MAX_CHARS = 20000
_GZIP_MAGIC = b"\x1f\x8b"


class SkipForm(forms.Form):
    reason = forms.CharField(max_length=SKIP_REASON_MAX_CHARS, strip=True)


class DemonstrationForm(forms.Form):
    content = forms.CharField(max_length=ANSWER_MAX_CHARS, strip=False)

    def clean_content(self):
        content = self.cleaned_data["content"]
        if not content.strip():
            raise forms.ValidationError("The answer is empty.")
        return content


class PromptWriteForm(forms.Form):
    text = forms.CharField(max_length=PROMPT_MAX_CHARS, widget=forms.Textarea(attrs={"rows": 3}))


class PreviewForm(forms.Form):
    text = forms.CharField(max_length=PREVIEW_MAX_CHARS, required=False, strip=False)


class RankingForm(forms.Form):
    """The ranking as the page's script fills it in: `groups` is JSON, a
    list of lists of candidate ids best first; `flags` is JSON mapping a
    candidate id to flag names. Whether they fit the task is the service's
    check."""

    groups = forms.JSONField()
    flags = forms.JSONField(required=False)
    none_acceptable = forms.BooleanField(required=False)
    better_answer = forms.CharField(max_length=ANSWER_MAX_CHARS, required=False, strip=False)

    def clean_flags(self):
        flags = self.cleaned_data.get("flags") or {}
        if not isinstance(flags, dict):
            raise forms.ValidationError("Flags must map candidates to lists of flags.")
        return flags


class PromptImportForm(forms.Form):
    """An uploaded prompt file, read into lines: at most
    LABELING_IMPORT_MAX_MB (also after gunzip, so a small archive cannot
    unpack into gigabytes), UTF-8 text (the first line that is not is
    named), no NUL bytes (a binary file uploaded by mistake)."""

    file = forms.FileField()
    format = forms.ChoiceField(choices=PromptImport.Format.choices)

    def clean_file(self) -> list[str]:
        upload = self.cleaned_data["file"]
        limit = settings.LABELING_IMPORT_MAX_MB * 1024 * 1024
        if upload.size > limit:
            raise forms.ValidationError(f"The file is larger than {settings.LABELING_IMPORT_MAX_MB} MB.")
        data = upload.read()
        if data.startswith(_GZIP_MAGIC):
            try:
                with gzip.GzipFile(fileobj=io.BytesIO(data)) as unpacked:
                    data = unpacked.read(limit + 1)
            except (OSError, EOFError, zlib.error):
                raise forms.ValidationError("The file looks gzipped but cannot be unpacked.") from None
            if len(data) > limit:
                raise forms.ValidationError(f"The file unpacks to more than {settings.LABELING_IMPORT_MAX_MB} MB.")
        lines = []
        for number, raw in enumerate(data.splitlines(keepends=True), start=1):
            if b"\x00" in raw:
                raise forms.ValidationError(f"Line {number} holds a NUL byte: this is not a text file.")
            try:
                lines.append(raw.decode("utf-8"))
            except UnicodeDecodeError:
                raise forms.ValidationError(f"Line {number} is not UTF-8 text.") from None
        if not any(line.strip() for line in lines):
            raise forms.ValidationError("The file is empty.")
        self.file_name = upload.name
        return lines


class PoolFilterForm(forms.Form):
    source = forms.ChoiceField(choices=[("", "Any source"), *Prompt.Source.choices], required=False)


def _policy_versions():
    return ModelVersion.objects.filter(kind=ModelVersion.Kind.POLICY).order_by("-created_at")


class PromptSelectionForm(forms.Form):
    """Checked prompts, or else the `count` oldest prompts (of `source`)
    that have no ranking task yet."""

    prompts = forms.ModelMultipleChoiceField(queryset=Prompt.objects.all(), required=False)
    count = forms.IntegerField(min_value=1, max_value=GENERATION_MAX_PROMPTS, required=False)
    source = forms.ChoiceField(choices=[("", "Any source"), *Prompt.Source.choices], required=False)
    required_annotations = forms.IntegerField(min_value=1, max_value=20)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["required_annotations"].initial = settings.LABELING_ANNOTATIONS_PER_ITEM

    def clean(self):
        data = super().clean()
        if not data.get("prompts") and not data.get("count"):
            raise forms.ValidationError("Check some prompts, or say how many to take.")
        if len(data.get("prompts") or []) > GENERATION_MAX_PROMPTS:
            raise forms.ValidationError(f"Choose at most {GENERATION_MAX_PROMPTS} prompts at once.")
        return data


class CandidateGenerationForm(PromptSelectionForm):
    model_versions = forms.ModelMultipleChoiceField(queryset=ModelVersion.objects.none())
    k = forms.IntegerField(min_value=MIN_CANDIDATES, max_value=MAX_CANDIDATES, initial=4, label="K")
    max_new_tokens = forms.IntegerField(min_value=1, max_value=4096, initial=512)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["model_versions"].queryset = _policy_versions()


class SnapshotCreateForm(forms.Form):
    name = forms.SlugField(max_length=100)
    kind = forms.ChoiceField(choices=DatasetSnapshot.Kind.choices)
    sources = forms.MultipleChoiceField(
        choices=Prompt.Source.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    created_from = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    created_to = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    min_agreement = forms.FloatField(
        min_value=0, max_value=1, required=False, help_text="Preference only: 0..1, chance is 0.5."
    )
    task_kind = forms.ChoiceField(
        choices=[("", "Any"), *((k, Task.Kind(k).label) for k in SFT_TASK_KINDS)],
        required=False,
        help_text="SFT only: where the answers were written.",
    )
    import_id = forms.IntegerField(min_value=1, required=False, label="Import #")
    arena_votes = forms.BooleanField(
        required=False,
        label="Single arena votes",
        help_text="Preference only: also take arena picks, each one user's vote that no annotator checked.",
    )
    model_version = forms.ModelChoiceField(
        queryset=ModelVersion.objects.none(),
        required=False,
        label="Answered by",
        empty_label="Any version",
        help_text="Judged chat answers only: the answers of this version (KTO learns best from its own policy's).",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["model_version"].queryset = _policy_versions()

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        if kind != DatasetSnapshot.Kind.PREFERENCE and data.get("min_agreement") is not None:
            self.add_error("min_agreement", "Agreement filters preference datasets only.")
        if kind != DatasetSnapshot.Kind.SFT and data.get("task_kind"):
            self.add_error("task_kind", "The task kind filters SFT datasets only.")
        if kind != DatasetSnapshot.Kind.PREFERENCE and data.get("arena_votes"):
            self.add_error("arena_votes", "Arena votes go into preference datasets only.")
        if kind == DatasetSnapshot.Kind.FEEDBACK:
            # Every judged answer comes from chat, none from an import.
            if data.get("sources"):
                self.add_error("sources", "Judged chat answers all come from chat; leave the sources unchecked.")
            if data.get("import_id"):
                self.add_error("import_id", "Judged chat answers come from no import.")
        elif data.get("model_version"):
            self.add_error("model_version", "The answering version filters judged chat answers only.")
        if data.get("created_from") and data.get("created_to") and data["created_from"] > data["created_to"]:
            self.add_error("created_to", "The end is before the start.")
        return data

    def filters(self) -> dict:
        """The filters in the form labeling.datasets.snapshot_filters_clean reads."""
        data = self.cleaned_data
        filters = {}
        if data.get("sources"):
            filters["sources"] = data["sources"]
        for key in ("created_from", "created_to"):
            if data.get(key):
                filters[key] = data[key].isoformat()
        if data.get("min_agreement") is not None:
            filters["min_agreement"] = data["min_agreement"]
        if data.get("task_kind"):
            filters["task_kind"] = data["task_kind"]
        if data.get("import_id"):
            filters["import_id"] = data["import_id"]
        if data.get("arena_votes"):
            filters["arena_votes"] = True
        if data.get("model_version"):
            filters["model_version"] = data["model_version"].pk
        return filters


class GuidelinesForm(forms.Form):
    kind = forms.ChoiceField(choices=Task.Kind.choices)
    text = forms.CharField(max_length=GUIDELINES_MAX_CHARS, widget=forms.Textarea(attrs={"rows": 14}))
