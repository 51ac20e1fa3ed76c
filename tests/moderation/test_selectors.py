import pytest

from moderation import categories as c
from moderation.flags import review_item_report
from moderation.selectors import labelled_examples, seed_examples
from review.services import review_item_decide

from .factories import make_verdict

pytestmark = pytest.mark.django_db


def test_labelled_examples_follow_the_latest_decision(flag, make_user):
    moderator = make_user(username="mod", role="moderator")
    confirmed = flag(c.HATE, c.HATE_THREATENING, text="confirmed hate")
    overturned = flag(c.VIOLENCE, text="overturned violence")
    changed = flag(c.SEXUAL, text="changed mind")
    flag(c.HARASSMENT, text="still open")
    review_item_decide(item=confirmed, reviewer=moderator, decision="confirm")
    review_item_decide(item=overturned, reviewer=moderator, decision="overturn")
    review_item_decide(item=changed, reviewer=moderator, decision="confirm")
    review_item_decide(item=changed, reviewer=moderator, decision="overturn")
    examples = dict(labelled_examples())
    assert set(examples) == {"confirmed hate", "overturned violence", "changed mind"}
    hate = examples["confirmed hate"]
    assert set(hate) == set(c.CATEGORIES)
    assert hate[c.HATE] == 1 and hate[c.HATE_THREATENING] == 1
    assert all(hate[category] is None for category in c.CATEGORIES if category not in (c.HATE, c.HATE_THREATENING))
    assert examples["overturned violence"] == dict.fromkeys(c.CATEGORIES, 0)
    assert examples["changed mind"] == dict.fromkeys(c.CATEGORIES, 0), "only the latest decision counts"


def test_a_confirmed_report_teaches_no_category_and_an_overturned_one_teaches_all_zero(exchange, make_user):
    moderator = make_user(username="mod", role="moderator")
    answer = exchange[1]
    answer.content = "You are an idiot."
    # Even a verdict that flagged something says nothing about what the reporter meant.
    answer.moderation = make_verdict(c.HARASSMENT).as_dict()
    answer.save(update_fields=["content", "moderation"])
    confirmed = review_item_report(message=answer, reported_by=answer.conversation.owner, reason="rude")
    review_item_decide(item=confirmed, reviewer=moderator, decision="confirm")
    assert labelled_examples() == []
    review_item_decide(item=confirmed, reviewer=moderator, decision="overturn")
    assert labelled_examples() == [("You are an idiot.", dict.fromkeys(c.CATEGORIES, 0))]


def test_seed_examples_map_the_openai_keys_and_leave_missing_ones_unknown(tmp_path, settings):
    path = tmp_path / "seed.jsonl"
    path.write_text(
        '{"prompt": "all labelled", "S": 0, "H": 1, "V": 0, "HR": 1, "SH": 0, "S3": 0, "H2": 1, "V2": 0}\n'
        "\n"
        '{"prompt": "some labelled", "SH": 1}\n'
        "not json\n"
        '{"no_prompt": 1}\n'
    )
    settings.MODERATION_SEED_DATA = path
    examples = seed_examples()
    assert [text for text, _ in examples] == ["all labelled", "some labelled"]
    full, partial = examples[0][1], examples[1][1]
    assert (full[c.HATE], full[c.HARASSMENT], full[c.HATE_THREATENING], full[c.SEXUAL_MINORS]) == (1, 1, 1, 0)
    assert full[c.ILLICIT] is None and full[c.HARASSMENT_THREATENING] is None, "not in the seed's taxonomy"
    assert partial[c.SELF_HARM] == 1 and partial[c.SEXUAL] is None and partial[c.VIOLENCE] is None
    settings.MODERATION_SEED_DATA = tmp_path / "absent.jsonl"
    assert seed_examples() == []


def test_the_bundled_seed_file_reads_when_present():
    from django.conf import settings

    if not settings.MODERATION_SEED_DATA.is_file():
        pytest.skip("no shared seed data here")
    examples = seed_examples()
    assert len(examples) > 100
    assert all(set(labels) == set(c.CATEGORIES) for _, labels in examples)
