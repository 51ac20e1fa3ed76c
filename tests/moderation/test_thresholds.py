import pytest

from moderation.models import ModerationRule
from moderation.pipeline import moderate

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def half_scored_rule(settings):
    settings.MODERATION_LAYERS = settings.MODERATION_OUTPUT_LAYERS = ["rules"]
    settings.MODERATION_RULES_REFRESH_SECONDS = 0
    ModerationRule.objects.create(category="violence", kind="words", pattern="brawl", score=0.6)


def test_answers_are_judged_at_their_own_threshold(settings):
    settings.MODERATION_THRESHOLD = 0.5
    settings.MODERATION_OUTPUT_THRESHOLD = 0.8
    assert moderate("a brawl", "user").flagged
    assert not moderate("a brawl", "assistant").flagged
    settings.MODERATION_OUTPUT_THRESHOLDS = {"violence": 0.55}
    assert moderate("a brawl", "assistant").flagged


def test_answers_pass_their_own_layers(settings):
    settings.MODERATION_OUTPUT_LAYERS = []
    assert moderate("a brawl", "user").flagged
    assert not moderate("a brawl", "assistant").flagged
