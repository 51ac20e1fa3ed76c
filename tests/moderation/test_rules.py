import faulthandler

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
    return ModerationRule.objects.create(
        category=fields.pop("category", c.ILLICIT), kind="words", pattern=pattern, **fields
    )


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
        {
            "category": c.HATE,
            "kind": "regex",
            "pattern": "([a-z]",
            "score": "1.0",
            "enabled": "on",
            "applies_to": "both",
        },
    )
    assert response.status_code == 200
    assert "Invalid regular expression" in response.content.decode()
    assert not ModerationRule.objects.exists()


def test_a_broken_rule_saved_around_validation_is_skipped():
    ModerationRule.objects.bulk_create([ModerationRule(category=c.HATE, kind="regex", pattern="(broken")])
    words_rule("zorblax")
    assert moderate("zorblax", "user").flagged
    assert not moderate("(broken", "user").flagged


# An admin's plausible rules whose nested repetition makes a backtracking
# engine try exponentially many splits of a short hostile input.
CATASTROPHIC = [r"^(a|aa)+$", r"(\w+\s?)+(?:kill|murder)\b"]


@pytest.fixture
def hang_guard():
    """Ends the run with a traceback after 30 s, a thousand times what the
    rules need. A backtracking match holds the GIL, so pytest-timeout's
    timers (a signal handler or a Python thread) never run; faulthandler's
    watchdog is a C thread."""
    faulthandler.dump_traceback_later(30, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


@pytest.mark.parametrize("pattern", CATASTROPHIC)
def test_a_catastrophic_admin_regex_runs_in_bounded_time_on_a_hostile_message(pattern, hang_guard):
    rule = ModerationRule(category=c.VIOLENCE, kind="regex", pattern=pattern)
    rule.full_clean()
    rule.save()
    assert not moderate("a" * 40 + "!", "user").flagged
    assert moderate("aaaa", "user").flagged or moderate("they will murder", "user").flagged


def test_the_built_in_rules_run_in_bounded_time_on_a_long_run_of_whitespace(hang_guard):
    # "i" then spaces made the built-in threat rules backtrack quadratically.
    assert not moderate("i" + " " * 15_998 + "x", "user").flagged
    assert moderate("I  will\n\n kill   you", "user").flagged


@pytest.mark.parametrize(
    "pattern",
    [r"\b(\w+)\s+\1\b", r"kill(?!\s+time)", r"(?<!skill)kill", r"(?P<w>x)(?P=w)"],
)
def test_backreferences_and_lookarounds_are_refused_at_save_time(pattern):
    rule = ModerationRule(category=c.HATE, kind="regex", pattern=pattern)
    with pytest.raises(ValidationError) as error:
        rule.full_clean()
    assert "linear time" in " ".join(error.value.message_dict["pattern"])


def test_an_overlong_rule_is_refused_at_save_time():
    rule = ModerationRule(category=c.HATE, kind="regex", pattern="x" * 5000)
    with pytest.raises(ValidationError) as error:
        rule.full_clean()
    assert "too long" in " ".join(error.value.message_dict["pattern"])


def test_the_admin_form_explains_why_a_backtracking_only_regex_is_refused(client, make_user):
    client.force_login(make_user(username="root", role="admin", is_staff=True, is_superuser=True))
    response = client.post(
        "/admin/moderation/moderationrule/add/",
        {
            "category": c.HATE,
            "kind": "regex",
            "pattern": r"(\w+) \1",
            "score": "1.0",
            "enabled": "on",
            "applies_to": "both",
        },
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Backreferences" in page and "linear time" in page
    assert not ModerationRule.objects.exists()


def test_a_stored_rule_the_linear_engine_refuses_is_skipped_with_a_warning(caplog):
    ModerationRule.objects.bulk_create([ModerationRule(category=c.HATE, kind="regex", pattern=r"zorb(?=lax)")])
    words_rule("quux")
    with caplog.at_level("WARNING", logger="moderation.rules"):
        assert not moderate("zorblax", "user").flagged
        assert moderate("quux", "user").flagged
    assert "Skipping moderation rule" in caplog.text


def test_word_lists_count_adjacent_words_and_respect_non_ascii_word_boundaries():
    words_rule("grok\nzib\nf*ck\nnaïve", category=c.SEXUAL, score=0.3)
    assert moderate("grok zib", "user").category_scores[c.SEXUAL] == pytest.approx(1 - 0.7**2)
    assert moderate("f*ck!", "user").category_scores[c.SEXUAL] == pytest.approx(0.3)
    assert moderate("ßgrok ézib naïveté", "user").category_scores[c.SEXUAL] == 0.0
