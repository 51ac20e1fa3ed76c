"""Who may train, and whose jobs they see: shared by views, the consumer and
the model version pages. Admins may do everything; others need the permission
`jobs.add_trainingjob` (given in the admin, per user or group) and see
only their own jobs."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404

from .models import TrainingJob

TRAIN_PERMISSION = "jobs.add_trainingjob"
TRAIN_REFUSAL = "Training is for admins and the accounts an admin gives the right to train: ask an admin for it."


def can_train(user) -> bool:
    if not (user.is_authenticated and user.is_active and user.is_approved):
        return False
    return user.is_admin or user.has_perm(TRAIN_PERMISSION)


def trainer_required(view):
    """View decorator: signed in (else the login page) and allowed to train
    (else 403)."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not can_train(request.user):
            raise PermissionDenied(TRAIN_REFUSAL)
        return view(request, *args, **kwargs)

    return wrapped


def access_job_by_id(user, job_id) -> TrainingJob:
    """The job, for its owner or an admin. Raises PermissionDenied for people
    who may not train at all, Http404 for someone else's job."""
    if not can_train(user):
        raise PermissionDenied(TRAIN_REFUSAL)
    jobs = TrainingJob.objects.select_related("base_version", "reward_version", "snapshot", "created_by")
    if not user.is_admin:
        jobs = jobs.filter(created_by=user)
    try:
        return jobs.get(pk=int(job_id))
    except (TrainingJob.DoesNotExist, TypeError, ValueError):
        raise Http404("No such job.") from None
