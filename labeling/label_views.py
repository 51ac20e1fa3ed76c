"""Pages of the tasks about one answer: label it on the scales of
labeling.label_scales, or write the user's next turn after it; and the
admins' page that makes those tasks and shows the labels' consensus.

A refused submission shows the page again with what was sent and the
error (status 400), so nothing typed or chosen is lost; a lease that ran
out or a task already finished goes home, as on the other task pages.
"""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.access import role_required
from accounts.models import Role
from core.errors import UserError

from . import answer_labels, selectors, user_replies
from .answer_tasks import answer_task_counts, ranked_items_answer_tasks_create, task_answer
from .forms import ANSWER_MAX_CHARS, SkipForm
from .label_forms import AnswerLabelForm, AnswerTasksForm, UserReplyForm
from .label_scales import FLAG, HARMFUL_MEAN, LIKERT_MAX, LIKERT_MIN, LIKERT_VALUES, SCALES
from .models import AnswerLabelConsensus, Assignment, Prompt, Task
from .views import LABELING_ROLES, _after_refusal, _form_errors, _lease

CONSENSUS_PAGE_SIZE = 50
_TEMPLATES = {Task.Kind.LABEL: "labeling/answer_label.html", Task.Kind.USER_REPLY: "labeling/user_reply.html"}


def _scale_rows(chosen: dict) -> list[dict]:
    """The scales as the form shows them, with the value chosen (as the
    radio buttons' text values) where there is one."""
    rows = []
    for scale in SCALES:
        if scale.kind == FLAG:
            options = [("yes", "Yes"), ("no", "No")]
        else:
            options = [(str(v), str(v)) for v in LIKERT_VALUES]
        rows.append({"scale": scale, "options": options, "chosen": chosen.get(scale.name, "")})
    return rows


def answer_task_page(request, assignment: Assignment, *, sent=None, error: str = "", status: int = 200):
    """The label or reply page of the assignment; `sent` is the refused
    form's data, shown again."""
    task = assignment.task
    sent = sent or {}
    # A yes/no scale starts at "no", as OpenAssistant's flags do: most
    # answers are neither spam nor personal data, and one click says yes.
    chosen = {scale.name: "no" for scale in SCALES if scale.kind == FLAG}
    chosen.update({scale.name: sent[scale.name] for scale in SCALES if sent.get(scale.name)})
    context = {
        "assignment": assignment,
        "task": task,
        "prompt": task.prompt,
        "answer": task_answer(task=task),
        "lease": _lease(assignment),
        "guidelines": selectors.guidelines_text(kind=task.kind),
        "skip_form": SkipForm(),
        "scales": _scale_rows(chosen),
        "likert_min": LIKERT_MIN,
        "likert_max": LIKERT_MAX,
        "reply": sent.get("content", ""),
        "reply_max": ANSWER_MAX_CHARS,
        "error": error,
    }
    return render(request, _TEMPLATES[task.kind], context, status=status)


@role_required(*LABELING_ROLES)
@require_POST
def label_submit_view(request, assignment_id: int):
    assignment = selectors.assignment_get_for_annotator(annotator=request.user, assignment_id=assignment_id)
    if assignment.task.kind != Task.Kind.LABEL:
        messages.error(request, "This task does not take labels.")
        return redirect("labeling:assignment", assignment_id=assignment.pk)
    form = AnswerLabelForm(request.POST)
    if not form.is_valid():
        return answer_task_page(request, assignment, sent=request.POST, error=_form_errors(form), status=400)
    try:
        answer_labels.label_submit(assignment=assignment, values=form.values())
    except UserError as error:
        if error.code in ("lease_expired", "finished"):
            return _after_refusal(request, assignment, error)
        return answer_task_page(request, assignment, sent=request.POST, error=error.message, status=400)
    messages.success(request, "Labels saved. Here is the next answer.")
    return redirect("labeling:next", kind=Task.Kind.LABEL)


@role_required(*LABELING_ROLES)
@require_POST
def user_reply_submit_view(request, assignment_id: int):
    assignment = selectors.assignment_get_for_annotator(annotator=request.user, assignment_id=assignment_id)
    if assignment.task.kind != Task.Kind.USER_REPLY:
        messages.error(request, "This task does not take a reply.")
        return redirect("labeling:assignment", assignment_id=assignment.pk)
    form = UserReplyForm(request.POST)
    if not form.is_valid():
        return answer_task_page(request, assignment, sent=request.POST, error=_form_errors(form), status=400)
    try:
        prompt = user_replies.user_reply_submit(assignment=assignment, text=form.cleaned_data["content"])
    except UserError as error:
        if error.code in ("lease_expired", "finished"):
            return _after_refusal(request, assignment, error)
        return answer_task_page(request, assignment, sent=request.POST, error=error.message, status=400)
    messages.success(request, f"Reply saved: the conversation goes on as prompt #{prompt.pk}. Here is the next one.")
    return redirect("labeling:next", kind=Task.Kind.USER_REPLY)


# --- Admins -------------------------------------------------------------------


def _consensus_cells(consensus: AnswerLabelConsensus) -> list[dict]:
    """One cell per scale: "4.3 ± 0.5" or "67 % yes", marked where the
    consensus sends the answer to the moderators."""
    cells = []
    for scale in SCALES:
        said = consensus.scales.get(scale.name)
        if said is None:
            cells.append({"text": "–", "alert": False})
        elif scale.kind == FLAG:
            cells.append({"text": f"{said['share']:.0%} yes", "alert": said["majority"]})
        else:
            alert = scale.name == "harmlessness" and said["mean"] <= HARMFUL_MEAN
            cells.append({"text": f"{said['mean']:.1f} ± {said['spread']:.1f}", "alert": alert})
    return cells


def _admin_page(request, form, status=200):
    consensus = AnswerLabelConsensus.objects.select_related("candidate").order_by("-updated_at", "-id")
    page = Paginator(consensus, CONSENSUS_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "labeling/admin_answer_tasks.html",
        {
            "section": "answers",
            "form": form,
            "error": _form_errors(form) if form.is_bound else "",
            "page": page,
            "rows": [{"consensus": c, "cells": _consensus_cells(c)} for c in page],
            "scales": SCALES,
            "open_counts": answer_task_counts(),
            "replies": Prompt.objects.filter(source=Prompt.Source.USER_REPLY)
            .select_related("author", "parent")
            .order_by("-id")[:20],
        },
        status=status,
    )


@role_required(Role.ADMIN)
@require_GET
def answer_tasks_view(request):
    return _admin_page(request, AnswerTasksForm())


@role_required(Role.ADMIN)
@require_POST
def answer_tasks_create_view(request):
    form = AnswerTasksForm(request.POST)
    if not form.is_valid():
        return _admin_page(request, form, status=400)
    data = form.cleaned_data
    made, items = ranked_items_answer_tasks_create(
        kind=data["kind"],
        items=data["items"],
        per_item=data["per_item"],
        required_annotations=data["required_annotations"],
    )
    label = Task.Kind(data["kind"]).label.lower()
    if made:
        messages.success(request, f"{made} “{label}” task(s) made from {items} ranked item(s).")
    else:
        messages.info(request, f"No ranked answer is left without a “{label}” task.")
    return redirect("labeling:admin-answer-tasks")
