"""Searching one's chats: which conversations match, and the snippet of
where (chat.selectors.conversation_list, chat.search)."""

import pytest
from django.utils import timezone

from chat.models import Conversation, Message, MessageStatus
from chat.search import snippet
from chat.selectors import conversation_list

LONG_BEFORE = "Once upon a time in a small village by the sea there lived an old fisherman and his cat"
LONG_AFTER = "and every morning they walked down to the harbour to count the boats that came home late"


class TestSnippet:
    def test_keeps_at_most_sixty_characters_either_side_cut_on_words(self):
        parts = snippet(f"{LONG_BEFORE} named Whiskers {LONG_AFTER}", "whiskers")
        assert parts["match"] == "Whiskers"
        assert parts["before"] == "…by the sea there lived an old fisherman and his cat named "
        assert parts["after"] == " and every morning they walked down to the harbour to count…"
        assert len(parts["before"]) - 1 <= 60 and len(parts["after"]) - 1 <= 60

    def test_a_short_text_is_whole_without_ellipsis(self):
        assert snippet("The Quick brown fox", "QUICK") == {"before": "The ", "match": "Quick", "after": " brown fox"}

    def test_line_breaks_and_runs_of_spaces_read_as_one_space(self):
        assert snippet("first line\n\nsecond   line\tthird", "second") == {
            "before": "first line ",
            "match": "second",
            "after": " line third",
        }

    def test_no_match_is_none(self):
        assert snippet("nothing here", "absent") is None
        assert snippet("nothing here", "") is None

    def test_cyrillic_and_greek_match_whatever_their_case(self):
        assert snippet("Он сказал: ПРИВЕТ, мир", "привет")["match"] == "ПРИВЕТ"
        assert snippet("ΚΑΛΗΜΕΡΑ κόσμε", "καλημέρα") is None  # an accent is not a case
        assert snippet("ΚΑΛΗΜΈΡΑ κόσμε", "καλημέρα")["match"] == "ΚΑΛΗΜΈΡΑ"

    def test_a_letter_that_folds_to_two_keeps_the_original_text(self):
        parts = snippet("Visit İstanbul soon", "i̇stanbul")
        assert parts == {"before": "Visit ", "match": "İstanbul", "after": " soon"}

    def test_text_without_spaces_is_cut_between_characters_never_inside_one(self):
        family = "👨\u200d👩\u200d👧"  # one emoji of five code points
        text = "字字" + family + "字" * 57 + "猫" + "字" * 58 + family + "字" * 70
        # Sixty code points either side end inside each emoji: both are kept whole.
        assert snippet(text, "猫") == {
            "before": "…" + family + "字" * 57,
            "match": "猫",
            "after": "字" * 58 + family + "…",
        }

    def test_an_emoji_is_matched_and_kept_whole(self):
        parts = snippet("Party time 🎉🎉 tonight", "🎉")
        assert parts == {"before": "Party time ", "match": "🎉", "after": "🎉 tonight"}


def _message(conversation, content, *, role="user", status=MessageStatus.ACCEPTED, moderation=None, parent=None):
    return Message.objects.create(
        conversation=conversation, parent=parent, role=role, content=content, status=status, moderation=moderation
    )


@pytest.mark.django_db
class TestConversationSearch:
    def test_a_message_match_carries_its_snippet_and_a_title_match_its_parts(self, user):
        trip = Conversation.objects.create(owner=user, title="Trip planning")
        eggs = Conversation.objects.create(owner=user, title="Recipes")
        question = _message(eggs, "How long should I boil an egg?")
        _message(
            eggs, "Boil the EGG for seven minutes.", role="assistant", status=MessageStatus.COMPLETE, parent=question
        )

        [found] = conversation_list(user=user, query="egg")
        assert found["id"] == eggs.pk and found["title_match"] is None
        assert found["snippet"] == {"before": "How long should I boil an ", "match": "egg", "after": "?"}

        [found] = conversation_list(user=user, query="TRIP")
        assert found["id"] == trip.pk and found["snippet"] is None
        assert found["title_match"] == {"before": "", "match": "Trip", "after": " planning"}

    def test_the_listing_without_a_query_has_no_snippets(self, user):
        Conversation.objects.create(owner=user, title="Trip")
        [listed] = conversation_list(user=user)
        assert set(listed) == {"id", "title", "updated_at", "imported"} and not listed["imported"]

    def test_non_latin_text_matches_ignoring_case(self, user):
        chat = Conversation.objects.create(owner=user, title="Урок")
        _message(chat, "Как сказать ПРИВЕТ по-английски? 👋")
        [found] = conversation_list(user=user, query="привет")
        assert found["snippet"]["match"] == "ПРИВЕТ"
        [found] = conversation_list(user=user, query="урок")
        assert found["title_match"]["match"] == "Урок"
        [found] = conversation_list(user=user, query="👋")
        assert found["snippet"] == {"before": "Как сказать ПРИВЕТ по-английски? ", "match": "👋", "after": ""}

    def test_text_moderation_refused_or_has_not_passed_neither_matches_nor_shows(self, user):
        hidden = {
            "flagged": dict(status=MessageStatus.FLAGGED, moderation={"flagged": True}),
            "pending": dict(status=MessageStatus.PENDING),
            "moderated": dict(role="assistant", status=MessageStatus.MODERATED),
            "failed": dict(role="assistant", status=MessageStatus.FAILED),
            "flagged client turn": dict(role="assistant", moderation={"source": "client", "flagged": True}),
            "unjudged client turn": dict(role="assistant", moderation={"source": "client"}),
        }
        for name, fields in hidden.items():
            _message(Conversation.objects.create(owner=user, title=name), "the secret word", **fields)
        shown = Conversation.objects.create(owner=user, title="shown")
        _message(shown, "the secret word", moderation={"flagged": False, "source": "client"})
        _message(shown, "a secret too", role="assistant", status=MessageStatus.COMPLETE, moderation={"flagged": False})

        found = conversation_list(user=user, query="secret")
        assert [c["title"] for c in found] == ["shown"]
        assert found[0]["snippet"] == {"before": "the ", "match": "secret", "after": " word"}

    def test_the_earliest_visible_match_is_the_snippet(self, user):
        chat = Conversation.objects.create(owner=user, title="Chat")
        flagged = _message(chat, "first mention, flagged", status=MessageStatus.FLAGGED, moderation={"flagged": True})
        _message(chat, "second mention, shown", parent=flagged)
        _message(chat, "third mention")
        [found] = conversation_list(user=user, query="mention")
        assert found["snippet"]["after"] == ", shown"

    def test_other_users_deleted_and_arena_conversations_are_left_out(self, user, make_user):
        theirs = Conversation.objects.create(owner=make_user(username="bob"), title="Their needle")
        _message(theirs, "needle")
        deleted = Conversation.objects.create(owner=user, title="Deleted needle", deleted_at=timezone.now())
        _message(deleted, "needle")
        mine = Conversation.objects.create(owner=user, title="Mine")
        _message(mine, "a needle in a haystack")
        assert [c["id"] for c in conversation_list(user=user, query="NEEDLE")] == [mine.pk]

    def test_search_characters_are_text_not_patterns(self, user):
        chat = Conversation.objects.create(owner=user, title="Chat")
        _message(chat, "50% off_today")
        Conversation.objects.create(owner=user, title="5000 of them")
        assert [c["id"] for c in conversation_list(user=user, query="0% o")] == [chat.pk]
        assert [c["id"] for c in conversation_list(user=user, query="f_t")] == [chat.pk]
