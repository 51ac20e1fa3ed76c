import random

import pytest

from labeling.assignments import ranking_submit, task_assign_next
from labeling.consensus import PRIOR_WEIGHT, fit, pairwise_agreement
from labeling.consensus_store import quality_refresh
from labeling.models import AnnotatorStats, Consensus, Ranking

pytestmark = pytest.mark.django_db


class TestConsensusAndAgreement:
    def test_each_submission_updates_consensus_and_everyones_agreement(self, annotators, make_ranking_task):
        task, (a, b, c) = make_ranking_task(required=3)
        one, two, odd = annotators(3)
        right, wrong = [[a.pk], [b.pk], [c.pk]], [[c.pk], [b.pk], [a.pk]]
        ranking_submit(assignment=task_assign_next(annotator=one), groups=right)
        assert Ranking.objects.get().agreement is None  # nobody to agree with yet
        ranking_submit(assignment=task_assign_next(annotator=two), groups=right, none_acceptable=True)
        ranking_submit(assignment=task_assign_next(annotator=odd), groups=wrong, flags={a.pk: ["harmful"]})
        consensus = task.consensus
        assert consensus.groups == right and consensus.num_rankings == 3
        assert consensus.agreement == pytest.approx(1 / 3)
        assert consensus.none_acceptable is False and consensus.flags == {}
        agreements = dict(Ranking.objects.values_list("assignment__annotator", "agreement"))
        assert agreements == {one.pk: 1.0, two.pk: 1.0, odd.pk: 0.0}
        stats = {s.annotator_id: s for s in AnnotatorStats.objects.all()}
        assert stats[one.pk].weight > PRIOR_WEIGHT > stats[odd.pk].weight
        assert stats[odd.pk].num_rankings == 1

    def test_refresh_fits_weights_over_all_items(self, annotators, make_ranking_task):
        """Two careful annotators agree on every item, a third reverses
        every one: after a refresh the third barely counts, so on an item
        only they and one careful annotator ranked, the careful one wins."""
        careful, also_careful, contrary = annotators(3)
        for _ in range(4):
            task, candidates = make_ranking_task(required=3)
            order = [[c.pk] for c in candidates]
            for annotator, groups in ((careful, order), (also_careful, order), (contrary, order[::-1])):
                ranking_submit(assignment=task_assign_next(annotator=annotator), groups=groups)
        contested, candidates = make_ranking_task(required=2)
        order = [[c.pk] for c in candidates]
        ranking_submit(assignment=task_assign_next(annotator=careful), groups=order)
        ranking_submit(assignment=task_assign_next(annotator=contrary), groups=order[::-1])
        assert quality_refresh() == 5
        stats = {s.annotator_id: s for s in AnnotatorStats.objects.all()}
        assert stats[careful.pk].agreement > 0.75 and stats[contrary.pk].agreement < 0.3
        contested.consensus.refresh_from_db()
        assert contested.consensus.groups == order


def test_simulated_annotators_through_the_services(annotators, make_ranking_task):
    """The simulated annotators of bench/labeling.py run through
    assignment, submission and refresh: the stored consensus and agreement
    are the pure fit's, the consensus is closer to the hidden truth than any
    one annotator, and agreement orders the annotators by their noise."""
    from bench.labeling import noisy

    rng = random.Random(2)
    noise = [0.1, 0.15, 0.2, 0.25, 0.3]
    people = annotators(len(noise))
    truth, rankings = {}, {}
    for _ in range(40):
        task, candidates = make_ranking_task(k=4, required=len(noise))
        order = [c.pk for c in rng.sample(candidates, len(candidates))]
        truth[task.pk] = [[pk] for pk in order]
        for person, p in zip(people, noise, strict=True):
            groups = [[pk] for pk in noisy(order, p, rng)]
            assignment = task_assign_next(annotator=person)
            assert assignment.task == task
            ranking_submit(assignment=assignment, groups=groups)
            rankings.setdefault(task.pk, {})[person.pk] = groups
    quality_refresh()

    fitted = fit(rankings)
    stored = {c.task_id: c.groups for c in Consensus.objects.all()}
    assert stored == {task_id: item.groups for task_id, item in fitted.items.items()}
    stats = {s.annotator_id: s.agreement for s in AnnotatorStats.objects.all()}
    assert stats == pytest.approx({a: agreement for a, (agreement, _, _) in fitted.annotators.items()})

    def accuracy(groups_of) -> float:
        return sum(pairwise_agreement(groups_of(t), truth[t]) for t in truth) / len(truth)

    single = [accuracy(lambda t, a=person.pk: rankings[t][a]) for person in people]
    assert accuracy(stored.get) > max(single)
    agreement = [stats[person.pk] for person in people]
    assert agreement == sorted(agreement, reverse=True)
