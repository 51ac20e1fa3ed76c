"""The evaluation sets page: the sets, and making one from a dataset
snapshot's prompts (a held-out split) or an uploaded prompts file. Who may
train may make them (access.trainer_required); a set is never edited."""

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from core.errors import UserError
from evaluation.models import EvaluationSet
from evaluation.services import evaluation_set_from_snapshot, evaluation_set_import
from labeling.models import DatasetSnapshot

from .access import trainer_required

MAX_UPLOAD_BYTES = 20 * 1024 * 1024


class EvaluationSetForm(forms.Form):
    name = forms.CharField(max_length=100)
    purpose = forms.ChoiceField(choices=EvaluationSet.Purpose.choices)
    snapshot = forms.ModelChoiceField(
        DatasetSnapshot.objects.all(), required=False, help_text="Its prompts, or `count` of them drawn at random."
    )
    count = forms.IntegerField(min_value=1, required=False, help_text="Empty: every prompt of the snapshot.")
    upload = forms.FileField(
        required=False, label="Or a prompts file", help_text='JSONL, a line each: {"prompt": "..."} or messages.'
    )
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def clean(self):
        data = super().clean()
        if (data.get("snapshot") is None) == (data.get("upload") is None):
            raise forms.ValidationError("Choose a snapshot or upload a file (one of them).")
        upload = data.get("upload")
        if upload is not None and upload.size > MAX_UPLOAD_BYTES:
            self.add_error("upload", f"The file is larger than {MAX_UPLOAD_BYTES // 2**20} MiB.")
        return data


@trainer_required
@require_http_methods(["GET", "POST"])
def evaluation_set_list_view(request):
    form = EvaluationSetForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        common = {
            "name": data["name"],
            "purpose": data["purpose"],
            "created_by": request.user,
            "description": data["description"],
        }
        try:
            if data["snapshot"] is not None:
                made = evaluation_set_from_snapshot(snapshot=data["snapshot"], count=data["count"], **common)
            else:
                made = evaluation_set_import(lines=data["upload"], **common)
        except UserError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, f"Evaluation set {made.name} holds {made.prompt_count} prompts.")
            return redirect("jobs:evaluation-sets")
    sets = EvaluationSet.objects.select_related("snapshot", "created_by").defer("prompts")
    status = 400 if form.is_bound else 200
    return render(request, "jobs/evaluation_sets.html", {"form": form, "sets": sets}, status=status)
