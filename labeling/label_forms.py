"""Input of the label and user reply pages and of the admins' page that
makes their tasks, checked before any service runs."""

from django import forms
from django.conf import settings

from .answer_tasks import ANSWER_TASK_KINDS
from .forms import ANSWER_MAX_CHARS, GENERATION_MAX_PROMPTS
from .label_scales import FLAG, LIKERT_VALUES, SCALES
from .models import MAX_CANDIDATES, Task

_YES_NO = {"yes": True, "no": False}


class AnswerLabelForm(forms.Form):
    """One field per scale of labeling.label_scales: a Likert scale takes
    1..5, a yes/no scale "yes" or "no". Every scale must be answered."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for scale in SCALES:
            missing = {"required": f"{scale.label}: choose an answer."}
            if scale.kind == FLAG:
                self.fields[scale.name] = forms.TypedChoiceField(
                    choices=[("yes", "Yes"), ("no", "No")], coerce=_YES_NO.get, error_messages=missing
                )
            else:
                self.fields[scale.name] = forms.TypedChoiceField(
                    choices=[(str(v), str(v)) for v in LIKERT_VALUES], coerce=int, error_messages=missing
                )

    def values(self) -> dict:
        return {scale.name: self.cleaned_data[scale.name] for scale in SCALES}


class UserReplyForm(forms.Form):
    content = forms.CharField(max_length=ANSWER_MAX_CHARS, strip=False)

    def clean_content(self):
        content = self.cleaned_data["content"]
        if not content.strip():
            raise forms.ValidationError("The reply is empty.")
        return content


class AnswerTasksForm(forms.Form):
    """Label or user reply tasks for the best `per_item` answers of up to
    `items` finished ranking items."""

    kind = forms.ChoiceField(choices=[(kind, Task.Kind(kind).label) for kind in ANSWER_TASK_KINDS])
    items = forms.IntegerField(min_value=1, max_value=GENERATION_MAX_PROMPTS, initial=20)
    per_item = forms.IntegerField(min_value=1, max_value=MAX_CANDIDATES, initial=1)
    required_annotations = forms.IntegerField(min_value=1, max_value=20)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["required_annotations"].initial = settings.LABELING_ANNOTATIONS_PER_ITEM
