import pytest

from moderation.holdback import OutputGate
from moderation.models import ModerationRule

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def rules_only(settings):
    settings.MODERATION_LAYERS = settings.MODERATION_OUTPUT_LAYERS = ["rules"]
    settings.MODERATION_RULES_REFRESH_SECONDS = 0
    ModerationRule.objects.create(category="violence", kind="words", pattern="zorblax", applies_to="output")


def test_text_is_released_a_sentence_at_a_time():
    gate = OutputGate(holdback_chars=48)
    assert gate.feed("Hello there") == ""
    assert gate.feed(". How are") == "Hello there."
    assert gate.feed(" you?\nFine") == " How are you?\n"
    assert gate.finish() == "Fine"
    assert gate.released == "Hello there. How are you?\nFine" and gate.verdict is None
    assert gate.final_verdict is not None and not gate.final_verdict.flagged


def test_long_text_without_sentences_is_cut_at_whitespace():
    gate = OutputGate(holdback_chars=20)
    released = gate.feed("aaaa bbbb cccc dddd eeee ffff")
    assert released == "aaaa bbbb cccc dddd eeee "
    assert gate.pending == "ffff"


def test_a_flagged_chunk_is_held_and_kept():
    gate = OutputGate(holdback_chars=48)
    assert gate.feed("All good here. Then zorblax appears. ") == ""
    assert gate.verdict is not None and gate.verdict.flagged
    assert gate.released == ""
    assert gate.released + gate.pending == "All good here. Then zorblax appears. "


def test_words_split_across_deltas_are_seen_whole():
    gate = OutputGate(holdback_chars=48)
    assert gate.feed("Fine text. ") == "Fine text."
    assert gate.feed("zorb") == ""
    assert gate.feed("lax. ") == ""
    assert gate.verdict is not None


def test_without_output_layers_text_passes_at_once(settings):
    settings.MODERATION_OUTPUT_LAYERS = []
    gate = OutputGate(holdback_chars=48)
    assert gate.feed("Then zorblax") == "Then zorblax"
    assert gate.feed(" appears") == " appears"
    assert gate.finish() == ""
    assert gate.released == "Then zorblax appears" and gate.verdict is None and gate.final_verdict is None


def test_a_short_first_sentence_is_released_before_the_answer_finishes():
    """Under the hold-back size, a one-line answer shows once its sentence
    ends, not when the model stops."""
    gate = OutputGate(holdback_chars=48)
    assert gate.feed("Paris is the capital") == ""
    assert gate.feed(" of France.") == "Paris is the capital of France."
    assert gate.pending == "" and gate.final_verdict is None
    assert gate.feed(" It is") == ""
    assert gate.finish() == " It is"


def test_a_first_sentence_may_end_in_a_quote_or_emphasis():
    gate = OutputGate(holdback_chars=48)
    assert gate.feed('He said "stop!"') == 'He said "stop!"'
    gate = OutputGate(holdback_chars=48)
    assert gate.feed("**Yes.**") == "**Yes.**"


def test_later_sentences_wait_for_the_space_after_their_mark():
    gate = OutputGate(holdback_chars=48)
    assert gate.feed("Pi is about 3.") == "Pi is about 3."
    assert gate.feed(" More precisely 3.") == ""
    assert gate.feed("14. ") == " More precisely 3.14."


def test_a_flagged_first_sentence_is_never_released():
    gate = OutputGate(holdback_chars=48)
    assert gate.feed("Then zorblax") == ""
    assert gate.feed(" appears.") == ""
    assert gate.verdict is not None and gate.verdict.flagged
    assert gate.released == "" and gate.pending == "Then zorblax appears."
