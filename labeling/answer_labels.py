"""Label tasks: one answer (a Candidate) judged on the scales of
labeling.label_scales by `required_annotations` annotators, and the
consensus per answer their labels make.

Each answer has at most one label task (labeling.answer_tasks), so its
labels are never split between tasks; the consensus is over every
submitted label of the answer.
"""

from django.db import transaction

from core.errors import UserError

from .answer_tasks import task_answer
from .assignments import assignment_finish, assignment_lock_for_finish
from .gold import gold_label_answer_record
from .label_scales import labels_consensus, moderation_reasons, values_clean
from .models import AnswerLabel, AnswerLabelConsensus, Assignment, Candidate, GoldItem, Task


@transaction.atomic
def label_submit(*, assignment: Assignment, values: dict) -> AnswerLabel:
    """Stores the annotator's labels of the task's answer (every scale
    answered, each in its range), then the answer's consensus. On a gold
    item they are scored instead (labeling.gold)."""
    assignment = assignment_lock_for_finish(assignment)
    if assignment.task.kind != Task.Kind.LABEL:
        raise UserError("wrong_kind", f"This task asks you to {assignment.task.get_kind_display().lower()}.")
    try:
        values = values_clean(values)
    except ValueError as error:
        raise UserError("invalid_labels", f"The labels are not valid: {error}.") from None
    candidate = task_answer(task=assignment.task)
    label = AnswerLabel.objects.create(assignment=assignment, candidate=candidate, values=values)
    assignment_finish(assignment, Assignment.State.SUBMITTED)
    # Labels of a gold item are a test of their annotator: scored, and kept
    # out of the answer's consensus and the exports.
    if gold := GoldItem.objects.filter(task=assignment.task).first():
        gold_label_answer_record(label=label, gold=gold)
        return label
    label_consensus_update(candidate=candidate)
    return label


def label_consensus_update(*, candidate: Candidate) -> AnswerLabelConsensus | None:
    """Recomputes the answer's consensus from its submitted labels, and
    sends the answer to the moderators when it says personal data, spam or
    harm (once while their item is open: moderation.flags)."""
    from moderation.flags import review_item_from_annotators

    values = list(
        AnswerLabel.objects.filter(
            candidate=candidate, assignment__state=Assignment.State.SUBMITTED, gold_answer__isnull=True
        ).values_list("values", flat=True)
    )
    if not values:
        return None
    scales = labels_consensus(values)
    consensus, _ = AnswerLabelConsensus.objects.update_or_create(
        candidate=candidate, defaults={"scales": scales, "num_labels": len(values)}
    )
    if reasons := moderation_reasons(scales):
        review_item_from_annotators(candidate=candidate, reason="Annotators' labels: " + "; ".join(reasons) + ".")
    return consensus
