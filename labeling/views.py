"""Labeling pages. Annotators (and the moderators and admins above them)
take the next task of a kind, write demonstrations and rank candidates
under a lease, and see their progress and the leaderboard; admins import
prompts, start candidate generation, create demonstration tasks, freeze
and download dataset snapshots, edit the guidelines and watch annotators'
agreement.

Every form is a plain post that redirects, so the pages work without
JavaScript (the ranking then keeps the order shown); the scripts add the
keyboard, drag and drop and the Markdown preview, which is the one JSON
view. Each view checks the role, parses its input, calls one service and
redirects."""

import json

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.access import role_required
from accounts.models import Role
from core.errors import UserError
from core.markdown import render_markdown

from . import assignments, datasets, gold, imports, selectors, services
from .forms import (
    CandidateGenerationForm,
    DemonstrationForm,
    GuidelinesForm,
    PoolFilterForm,
    PreviewForm,
    PromptImportForm,
    PromptSelectionForm,
    PromptWriteForm,
    RankingForm,
    SkipForm,
    SnapshotCreateForm,
)
from .models import CANDIDATE_FLAGS, Assignment, DatasetSnapshot, Task

# Annotators, and the moderators and admins above them, label.
LABELING_ROLES = (Role.ANNOTATOR, Role.MODERATOR)
POOL_PAGE_SIZE = 50
# The numbers an admin last submitted on the Datasets page, kept in the
# session so the next batch starts from them instead of the defaults.
POOL_NUMBERS_SESSION_KEY = "labeling_pool_numbers"
POOL_NUMBERS = ("required_annotations", "k", "max_new_tokens")


def _form_errors(form) -> str:
    return "; ".join(message for errors in form.errors.values() for message in errors)


# --- Annotators ---------------------------------------------------------------


@role_required(*LABELING_ROLES)
@require_GET
def labeling_home_view(request):
    return render(
        request,
        "labeling/home.html",
        {
            "kinds": selectors.annotator_home(annotator=request.user),
            "progress": selectors.annotator_progress(annotator=request.user),
            "leaderboard": selectors.leaderboard(),
            "prompt_form": PromptWriteForm(),
        },
    )


@role_required(*LABELING_ROLES)
@require_POST
def prompt_write_view(request):
    """A question an annotator adds to the pool; admins make tasks of it,
    which its author is never given."""
    form = PromptWriteForm(request.POST)
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return redirect("labeling:home")
    try:
        prompt = services.prompt_create(
            author=request.user, messages=[{"role": "user", "content": form.cleaned_data["text"]}]
        )
    except UserError as error:
        messages.error(request, error.message)
        return redirect("labeling:home")
    messages.success(request, f"Prompt #{prompt.pk} added to the pool.")
    return redirect("labeling:home")


@role_required(*LABELING_ROLES)
@require_GET
def task_next_view(request, kind: str):
    """The annotator's live lease of `kind`, or a new one. A GET because it
    is safe to repeat: the live lease comes back rather than a second."""
    if kind not in Task.Kind.values:
        raise Http404("No such kind of task.")
    assignment = assignments.task_assign_next(annotator=request.user, kind=kind)
    if assignment is None:
        messages.info(request, f"No {Task.Kind(kind).label.lower()} task is open to you right now.")
        return redirect("labeling:home")
    return redirect("labeling:assignment", assignment_id=assignment.pk)


def _lease(assignment: Assignment) -> dict:
    return {
        "expires_at": assignment.lease_expires_at,
        "seconds_left": max(0, int((assignment.lease_expires_at - timezone.now()).total_seconds())),
    }


@role_required(*LABELING_ROLES)
@require_GET
def assignment_view(request, assignment_id: int):
    assignment = selectors.assignment_get_for_annotator(annotator=request.user, assignment_id=assignment_id)
    if assignment.state in (Assignment.State.SUBMITTED, Assignment.State.SKIPPED):
        messages.info(request, f"That task was already {assignment.get_state_display().lower()}.")
        return redirect("labeling:home")
    task = assignment.task
    if task.kind in (Task.Kind.LABEL, Task.Kind.USER_REPLY):
        from .label_views import answer_task_page  # label_views builds on this module

        return answer_task_page(request, assignment)
    context = {
        "assignment": assignment,
        "task": task,
        "prompt": task.prompt,
        "lease": _lease(assignment),
        "guidelines": selectors.guidelines_text(kind=task.kind),
        "skip_form": SkipForm(),
    }
    if task.kind == Task.Kind.DEMONSTRATION:
        return render(request, "labeling/demonstration.html", context)
    candidates = selectors.ranking_candidates(assignment=assignment)
    context.update(
        {
            "candidates": candidates,
            "flags": list(CANDIDATE_FLAGS.items()),
            "initial_groups": json.dumps([[c.pk] for c in candidates]),
        }
    )
    return render(request, "labeling/ranking.html", context)


def _after_refusal(request, assignment: Assignment, error: UserError):
    messages.error(request, error.message)
    if error.code in ("lease_expired", "finished"):
        return redirect("labeling:home")
    return redirect("labeling:assignment", assignment_id=assignment.pk)


@role_required(*LABELING_ROLES)
@require_POST
def demonstration_submit_view(request, assignment_id: int):
    assignment = selectors.assignment_get_for_annotator(annotator=request.user, assignment_id=assignment_id)
    form = DemonstrationForm(request.POST)
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return redirect("labeling:assignment", assignment_id=assignment.pk)
    try:
        assignments.demonstration_submit(assignment=assignment, content=form.cleaned_data["content"])
    except UserError as error:
        return _after_refusal(request, assignment, error)
    messages.success(request, "Answer saved. Here is the next one.")
    return redirect("labeling:next", kind=Task.Kind.DEMONSTRATION)


@role_required(*LABELING_ROLES)
@require_POST
def ranking_submit_view(request, assignment_id: int):
    assignment = selectors.assignment_get_for_annotator(annotator=request.user, assignment_id=assignment_id)
    form = RankingForm(request.POST)
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return redirect("labeling:assignment", assignment_id=assignment.pk)
    data = form.cleaned_data
    try:
        assignments.ranking_submit(
            assignment=assignment,
            groups=data["groups"],
            none_acceptable=data["none_acceptable"],
            better_answer=data["better_answer"],
            flags=data["flags"],
        )
    except UserError as error:
        return _after_refusal(request, assignment, error)
    messages.success(request, "Ranking saved. Here is the next one.")
    return redirect("labeling:next", kind=Task.Kind.RANKING)


@role_required(*LABELING_ROLES)
@require_POST
def assignment_skip_view(request, assignment_id: int):
    assignment = selectors.assignment_get_for_annotator(annotator=request.user, assignment_id=assignment_id)
    form = SkipForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say why you skip this task.")
        return redirect("labeling:assignment", assignment_id=assignment.pk)
    try:
        assignments.assignment_skip(assignment=assignment, reason=form.cleaned_data["reason"])
    except UserError as error:
        return _after_refusal(request, assignment, error)
    messages.info(request, "Skipped; the task goes to someone else.")
    return redirect("labeling:next", kind=assignment.task.kind)


@role_required(*LABELING_ROLES)
@require_POST
def markdown_preview_view(request):
    """The text rendered as the exports' readers and the chat will show it:
    core.markdown's sanitized HTML."""
    form = PreviewForm(request.POST)
    if not form.is_valid():
        return JsonResponse({"error": _form_errors(form)}, status=400)
    return JsonResponse({"html": render_markdown(form.cleaned_data["text"])})


# --- Admins -------------------------------------------------------------------


@role_required(Role.ADMIN)
@require_GET
def prompt_pool_view(request):
    services.candidate_generations_expire()
    filter_form = PoolFilterForm(request.GET)
    source = filter_form.cleaned_data["source"] if filter_form.is_valid() else ""
    page = Paginator(selectors.prompt_pool(source=source or None), POOL_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "labeling/admin_prompts.html",
        {
            "section": "prompts",
            "page": page,
            "filter_form": filter_form,
            "source": source,
            "sources": selectors.prompt_pool_sources(),
            "generation_form": CandidateGenerationForm(
                initial={"source": source, **request.session.get(POOL_NUMBERS_SESSION_KEY, {})}
            ),
            "generations": selectors.candidate_generations_recent(),
        },
    )


@role_required(Role.ADMIN)
@require_GET
def prompt_item_view(request, prompt_id: int):
    return render(
        request, "labeling/admin_prompt_item.html", {"section": "prompts", **selectors.prompt_item(prompt_id=prompt_id)}
    )


def _remember_pool_numbers(request, form: PromptSelectionForm) -> None:
    remembered = request.session.get(POOL_NUMBERS_SESSION_KEY, {})
    submitted = {name: form.cleaned_data[name] for name in POOL_NUMBERS if name in form.cleaned_data}
    request.session[POOL_NUMBERS_SESSION_KEY] = {**remembered, **submitted}


def _selected_prompts(form: PromptSelectionForm) -> list:
    data = form.cleaned_data
    if data.get("prompts"):
        return list(data["prompts"])
    return selectors.prompts_without_ranking(count=data["count"], source=data.get("source") or None)


@role_required(Role.ADMIN)
@require_POST
def candidate_generation_create_view(request):
    form = CandidateGenerationForm(request.POST)
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return redirect("labeling:admin-prompts")
    _remember_pool_numbers(request, form)
    prompts = _selected_prompts(form)
    if not prompts:
        messages.info(request, "Every prompt of that choice already has a ranking task.")
        return redirect("labeling:admin-prompts")
    data = form.cleaned_data
    try:
        generations = services.candidate_generations_request(
            prompts=prompts,
            model_versions=list(data["model_versions"]),
            k=data["k"],
            required_annotations=data["required_annotations"],
            max_new_tokens=data["max_new_tokens"],
            created_by=request.user,
        )
    except UserError as error:
        messages.error(request, error.message)
        return redirect("labeling:admin-prompts")
    messages.success(request, f"Generating {data['k']} candidates for {len(generations)} prompt(s).")
    return redirect("labeling:admin-prompts")


@role_required(Role.ADMIN)
@require_POST
def demonstration_tasks_create_view(request):
    form = PromptSelectionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return redirect("labeling:admin-prompts")
    _remember_pool_numbers(request, form)
    prompts = _selected_prompts(form)
    created = assignments.demonstration_tasks_create(
        prompts=prompts, required_annotations=form.cleaned_data["required_annotations"]
    )
    messages.success(request, f"{created} demonstration task(s) made ({len(prompts) - created} had one).")
    return redirect("labeling:admin-prompts")


@role_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def prompt_import_view(request):
    form = PromptImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            record = imports.prompts_import(
                lines=form.cleaned_data["file"],
                fmt=form.cleaned_data["format"],
                file_name=form.file_name,
                created_by=request.user,
            )
        except UserError as error:
            form.add_error(None, error.message)
        else:
            counts = record.counts
            messages.success(
                request,
                f"Import #{record.pk}: {counts['items']} items, {counts['prompts_created']} new prompts "
                f"({counts['prompts_duplicate']} already in the pool), {counts['tasks_created']} ranked tasks.",
            )
            return redirect("labeling:admin-import")
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "labeling/admin_import.html",
        {
            "section": "import",
            "form": form,
            "imports": selectors.prompt_imports_recent(),
            "max_mb": settings.LABELING_IMPORT_MAX_MB,
        },
        status=status,
    )


def _snapshot_page(request, form, status=200):
    return render(
        request,
        "labeling/admin_snapshots.html",
        {"section": "snapshots", "form": form, "snapshots": selectors.snapshot_list()},
        status=status,
    )


@role_required(Role.ADMIN)
@require_GET
def snapshot_list_view(request):
    return _snapshot_page(request, SnapshotCreateForm(initial={"kind": DatasetSnapshot.Kind.PREFERENCE}))


@role_required(Role.ADMIN)
@require_POST
def snapshot_create_view(request):
    form = SnapshotCreateForm(request.POST)
    if not form.is_valid():
        return _snapshot_page(request, form, status=400)
    try:
        snapshot = datasets.snapshot_create(
            name=form.cleaned_data["name"],
            kind=form.cleaned_data["kind"],
            filters=form.filters(),
            created_by=request.user,
        )
    except UserError as error:
        form.add_error(None, error.message)
        return _snapshot_page(request, form, status=400)
    messages.success(request, f"Snapshot {snapshot}: {snapshot.item_count} items, sha256 {snapshot.content_hash}.")
    return redirect("labeling:admin-snapshots")


@role_required(Role.ADMIN)
@require_GET
def snapshot_download_view(request, snapshot_id: int, fmt: str):
    """The snapshot in one export format, streamed line by line as a JSONL
    attachment. The file's hash is checked before the first byte goes out."""
    snapshot = get_object_or_404(DatasetSnapshot, pk=snapshot_id)
    try:
        datasets.format_check(kind=snapshot.kind, fmt=fmt)
        rows = datasets.snapshot_rows(snapshot=snapshot)
    except ValueError as error:
        raise Http404(str(error)) from None
    except UserError as error:
        messages.error(request, error.message)
        return redirect("labeling:admin-snapshots")
    lines = datasets.export_lines(kind=snapshot.kind, rows=rows, fmt=fmt)
    response = StreamingHttpResponse(lines, content_type="application/jsonl; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{snapshot.name}-v{snapshot.version}-{fmt}.jsonl"'
    return response


@role_required(Role.ADMIN)
@require_GET
def annotator_quality_view(request):
    return render(
        request,
        "labeling/admin_annotators.html",
        {
            "section": "annotators",
            "threshold": settings.LABELING_LOW_AGREEMENT,
            "min_rankings": settings.LABELING_LOW_AGREEMENT_MIN_RANKINGS,
            "low": selectors.annotators_low_agreement(
                below=settings.LABELING_LOW_AGREEMENT, min_rankings=settings.LABELING_LOW_AGREEMENT_MIN_RANKINGS
            ),
            "leaderboard": selectors.leaderboard(limit=100),
            "agreement": selectors.agreement_overview(),
            "gold_annotators": gold.annotators_gold(),
            "gold_hold_below": settings.LABELING_GOLD_HOLD_BELOW,
            "gold_min_answers": settings.LABELING_GOLD_MIN_ANSWERS,
        },
    )


@role_required(Role.ADMIN)
@require_GET
def flagged_items_view(request):
    return render(
        request,
        "labeling/admin_flagged.html",
        {"section": "flagged", "items": selectors.flagged_items(), "flag_labels": CANDIDATE_FLAGS},
    )


@role_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def guidelines_edit_view(request):
    kind = request.POST.get("kind") or request.GET.get("kind") or Task.Kind.DEMONSTRATION
    if kind not in Task.Kind.values:
        raise Http404("No such kind of task.")
    if request.method == "POST":
        form = GuidelinesForm(request.POST)
        if form.is_valid():
            services.guidelines_update(kind=kind, text=form.cleaned_data["text"], updated_by=request.user)
            messages.success(request, f"Guidelines for “{Task.Kind(kind).label}” saved.")
            return redirect(f"{reverse('labeling:admin-guidelines')}?kind={kind}")
    else:
        form = GuidelinesForm(initial={"kind": kind, "text": selectors.guidelines_text(kind=kind)})
    return render(
        request,
        "labeling/admin_guidelines.html",
        {"section": "guidelines", "form": form, "kind": kind, "kinds": Task.Kind.choices},
    )
