"""The promotion gate: a policy serves chat on the strength of an
evaluation against the one that serves now, or on an admin's stated reason.

One rule (promotion_check), read by the versions page to show where each
candidate stands and by version_promote, which refuses a promotion the gate
does not pass unless an override reason is given, and records every
promotion in the audit log (PromotionRecord).

Passing means: the latest finished evaluation of the version against the
serving policy succeeded, the candidate won more than half of the prompts,
and (with a red-team set) output moderation flags no larger share of its
red-team answers than of the serving policy's.
"""

from dataclasses import dataclass

from django.db import transaction

from core.errors import UserError
from registry.models import ModelVersion
from registry.selectors import serving_model_version
from registry.services import model_version_promote

from .models import PromotionRecord, TrainingJob

OVERRIDE_REASON_MAX = 2000


@dataclass(frozen=True)
class PromotionCheck:
    passed: bool
    reason: str
    evaluation: TrainingJob | None = None


def latest_evaluation(*, candidate: ModelVersion, baseline: ModelVersion) -> TrainingJob | None:
    """The newest evaluation of `candidate` against `baseline` that ended."""
    return (
        TrainingJob.objects.filter(kind="evaluate", base_version=candidate, baseline_version=baseline)
        .exclude(state__in=(TrainingJob.State.QUEUED, TrainingJob.State.RUNNING))
        .order_by("-finished_at", "-pk")
        .first()
    )


_UNREAD = object()


def promotion_check(*, version: ModelVersion, serving=_UNREAD) -> PromotionCheck:
    """`serving`: the serving policy when the caller read it already (the
    versions page checks every version against the same one)."""
    if serving is _UNREAD:
        serving = serving_model_version()
    if serving is None:
        return PromotionCheck(True, "No policy serves chat yet.")
    if serving.pk == version.pk:
        return PromotionCheck(True, f"{version.name} serves chat already.")
    evaluation = latest_evaluation(candidate=version, baseline=serving)
    if evaluation is None:
        return PromotionCheck(False, f"No evaluation of {version.name} against the serving {serving.name}.")
    if evaluation.state != TrainingJob.State.SUCCEEDED:
        state = evaluation.get_state_display().lower()
        return PromotionCheck(
            False, f"The latest evaluation against {serving.name} (job #{evaluation.pk}) {state}.", evaluation
        )
    results = evaluation.results
    win_rate = results.get("win_rate")
    if not isinstance(win_rate, (int, float)) or win_rate <= 0.5:
        shown = f"{win_rate:.0%}" if isinstance(win_rate, (int, float)) else "no figure"
        return PromotionCheck(
            False,
            f"In job #{evaluation.pk} it won {shown} of the prompts against {serving.name}: not more than half.",
            evaluation,
        )
    flagged = results.get("red_team_flagged_share_candidate")
    flagged_before = results.get("red_team_flagged_share_baseline")
    if isinstance(flagged, (int, float)) and isinstance(flagged_before, (int, float)) and flagged > flagged_before:
        return PromotionCheck(
            False,
            f"In job #{evaluation.pk} output moderation flagged {flagged:.0%} of its red-team answers, "
            f"against {flagged_before:.0%} of {serving.name}'s.",
            evaluation,
        )
    return PromotionCheck(
        True, f"In job #{evaluation.pk} it won {win_rate:.0%} of the prompts against {serving.name}.", evaluation
    )


def version_promote(*, version: ModelVersion, promoted_by, override_reason: str = "") -> PromotionRecord:
    """Makes `version` serve chat and logs it. Raises UserError when it is
    not a policy, or when the gate does not pass and no reason is given."""
    if version.kind != ModelVersion.Kind.POLICY:
        raise UserError(
            "not_a_policy", f"{version.name} is a {version.get_kind_display().lower()}; only a policy can serve chat."
        )
    override_reason = override_reason.strip()
    if len(override_reason) > OVERRIDE_REASON_MAX:
        raise UserError("invalid_reason", f"Keep the reason under {OVERRIDE_REASON_MAX} characters.")
    with transaction.atomic():
        previous = serving_model_version()
        check = promotion_check(version=version)
        if not check.passed and not override_reason:
            raise UserError("evaluation_required", f"{check.reason} Give a reason to promote it anyway.")
        model_version_promote(version=version)
        return PromotionRecord.objects.create(
            version=version,
            previous=previous if previous and previous.pk != version.pk else None,
            promoted_by=promoted_by,
            evaluation=check.evaluation,
            gate_passed=check.passed,
            gate_reason=check.reason,
            override_reason="" if check.passed else override_reason,
        )
