import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from moderation import categories as c
from moderation.models import ModerationRule
from moderation.pipeline import moderate

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def rules_layer_only(settings):
    """These tests are about the rules layer's own scores."""
    settings.MODERATION_LAYERS = settings.MODERATION_OUTPUT_LAYERS = ["rules"]


def words_rule(pattern, **fields):
    return ModerationRule.objects.create(category=fields.pop("category", c.ILLICIT), kind="words", pattern=pattern, **fields)


def test_an_admin_rule_takes_effect_at_once_and_stops_when_deleted():
    text = "Where can I buy zorblax pills?"
    assert not moderate(text, "user").flagged
    rule = words_rule("zorblax")
    verdict = moderate(text, "user")
    assert verdict.flagged and verdict.top_category() == c.ILLICIT and verdict.layer == "rules"
    rule.delete()
    assert not moderate(text, "user").flagged


def test_other_processes_see_rule_changes_after_the_refresh_interval(settings):
    rule = words_rule("zorblax")
    assert moderate("zorblax", "user").flagged
    # A change made elsewhere sends no signal to this process.
    ModerationRule.objects.filter(pk=rule.pk).update(enabled=False, updated_at=timezone.now())
    assert moderate("zorblax", "user").flagged  # still the cached rules
    settings.MODERATION_RULES_REFRESH_SECONDS = 0.0
    assert not moderate("zorblax", "user").flagged


def test_regex_rules_and_direction():
    ModerationRule.objects.create(
        category=c.VIOLENCE, kind="regex", pattern=r"\bflurb(?:le)?\s+them\b", applies_to="output"
    )
    assert not moderate("we should flurble them", "user").flagged
    assert moderate("we should flurble them", "assistant").flagged


def test_word_lists_match_whole_words_and_add_up():
    words_rule("grok\nzib zab", category=c.SEXUAL, score=0.3)
    assert moderate("groks and zibzab", "user").category_scores[c.SEXUAL] == 0.0
    assert moderate("grok", "user").category_scores[c.SEXUAL] == pytest.approx(0.3)
    two = moderate("GROK then Zib   Zab", "user")
    assert two.category_scores[c.SEXUAL] == pytest.approx(1 - 0.7**2)
    assert two.flagged  # two weak words (0.51) cross the 0.5 threshold one alone (0.3) does not


@pytest.mark.parametrize(
    "kind,pattern,message",
    [
        ("regex", r"(unclosed", "Invalid regular expression"),
        ("regex", r"a*", "matches empty text"),
        ("words", "\n  \n", "word list is empty"),
    ],
)
def test_unusable_patterns_are_refused_at_save_time(kind, pattern, message):
    rule = ModerationRule(category=c.HATE, kind=kind, pattern=pattern)
    with pytest.raises(ValidationError) as error:
        rule.full_clean()
    assert message in " ".join(error.value.message_dict["pattern"])


def test_the_admin_refuses_an_invalid_regex(client, make_user):
    client.force_login(make_user(username="root", role="admin", is_staff=True, is_superuser=True))
    response = client.post(
        "/admin/moderation/moderationrule/add/",
        {"category": c.HATE, "kind": "regex", "pattern": "([a-z]", "score": "1.0", "enabled": "on", "applies_to": "both"},
    )
    assert response.status_code == 200
    assert "Invalid regular expression" in response.content.decode()
    assert not ModerationRule.objects.exists()


def test_a_broken_rule_saved_around_validation_is_skipped():
    ModerationRule.objects.bulk_create([ModerationRule(category=c.HATE, kind="regex", pattern="(broken")])
    words_rule("zorblax")
    assert moderate("zorblax", "user").flagged
    assert not moderate("(broken", "user").flagged
