"""Training job pages: the list, the new-job form, a job's page (live over
/ws/jobs/<id>/), its full log, cancel and resume. Only admins and users given
`jobs.add_trainingjob` get in; the others see 403."""

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.errors import UserError

from . import recipes
from .access import access_job_by_id, trainer_required
from .forms import TrainingJobForm, fields_by_kind
from .selectors import job_list, job_log_path, job_metric_points, job_samples
from .serializers import job_to_dict
from .services import (
    corpus_store,
    training_job_cancel,
    training_job_create,
    training_job_resume,
    training_jobs_reap_stale,
)


@trainer_required
@require_GET
def job_list_view(request):
    training_jobs_reap_stale()
    return render(request, "jobs/list.html", {"jobs": job_list(user=request.user)[:200]})


@trainer_required
@require_http_methods(["GET", "POST"])
def job_create_view(request):
    initial = {"preset": "cpu-quick", "kind": request.GET.get("kind", "")}
    form = TrainingJobForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        corpus_path = data["corpus"]
        if data["corpus_upload"] is not None:
            corpus_path = corpus_store(name=data["corpus_upload"].name, chunks=data["corpus_upload"].chunks())
        job = training_job_create(
            created_by=request.user,
            kind=data["kind"],
            preset=data["preset"],
            hyperparameters=data["hyperparameters"],
            base_version=data["base_version"],
            reward_version=data["reward_version"],
            snapshot=data["snapshot"],
            corpus_path=corpus_path,
            baseline_version=data["baseline_version"],
            judge_versions=data["judge_versions"],
            evaluation_set=data["evaluation_set"],
            red_team_set=data["red_team_set"],
        )
        messages.success(request, f"Job #{job.pk} is queued.")
        return redirect("jobs:detail", job_id=job.pk)
    status = 400 if form.is_bound else 200
    context = {"form": form, "presets": recipes.all_presets(), "inputs": fields_by_kind()}
    return render(request, "jobs/create.html", context, status=status)


@require_GET
def job_detail_view(request, job_id: int):
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    training_jobs_reap_stale()
    job = access_job_by_id(request.user, job_id)
    return render(
        request,
        "jobs/detail.html",
        {
            "job": job,
            "job_data": job_to_dict(job),
            "points": job_metric_points(job=job),
            "samples": job_samples(job=job),
        },
    )


@require_GET
def job_log_view(request, job_id: int):
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    job = access_job_by_id(request.user, job_id)
    path = job_log_path(job=job)
    if path is None:
        raise Http404("This job has no log yet.")
    return FileResponse(open(path, "rb"), content_type="text/plain; charset=utf-8")


@require_POST
def job_cancel_view(request, job_id: int):
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    job = access_job_by_id(request.user, job_id)
    if not job.is_active:
        messages.error(request, f"Job #{job.pk} is {job.get_state_display().lower()}; there is nothing to cancel.")
    else:
        training_job_cancel(job=job)
        messages.success(request, f"Job #{job.pk}: cancel requested.")
    return redirect("jobs:detail", job_id=job.pk)


@require_POST
def job_resume_view(request, job_id: int):
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    job = access_job_by_id(request.user, job_id)
    try:
        training_job_resume(job=job)
    except UserError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Job #{job.pk} is queued again; it goes on from its last checkpoint.")
    return redirect("jobs:detail", job_id=job.pk)
