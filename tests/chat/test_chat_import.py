"""Chat import (chat.imports, chat.imports_service): a ChatGPT or Open WebUI
export becomes the user's conversations with their branches, current leaf
and times; a bad file is refused whole with its reason, nothing stored;
every imported turn is judged by input moderation; with consent, the
accepted prompts join the labeling pool (labeling.from_import)."""

import io
import json
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from chat.context import awaits_moderation
from chat.data_controls import account_delete, user_data_export
from chat.imports_service import (
    chat_import_create,
    chat_import_list,
    chat_import_run,
    chat_import_sharing_stop,
    chat_imports_expire,
)
from chat.models import ChatImport, Conversation, Message, MessageStatus
from chat.selectors import branch_path, conversation_list, latest_leaf_under, model_context
from chat.services import conversation_delete
from core.errors import UserError
from labeling.from_import import imported_prompts_share
from labeling.models import Prompt
from moderation.models import ModerationRule

from ..helpers.chat_exports import (
    T0,
    chatgpt_export,
    chatgpt_search,
    chatgpt_tides,
    chatgpt_zip,
    open_webui_export,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def rules_only(settings, tmp_path):
    """Moderation by the rules layer alone, with one rule the tests trip;
    uploads kept under a data directory of the test's own."""
    settings.DATA_DIR = tmp_path
    settings.MODERATION_LAYERS = ["rules"]
    settings.MODERATION_RULES_REFRESH_SECONDS = 0
    ModerationRule.objects.create(category="violence", kind="words", pattern="brawl", score=0.95)


def upload(data: bytes, name="conversations.json"):
    return SimpleUploadedFile(name, data, content_type="application/json")


def imported(user, data: bytes, *, name="conversations.json", shares_prompts=False) -> ChatImport:
    """An export uploaded and imported as the worker does it."""
    record = chat_import_create(user=user, upload=upload(data, name), shares_prompts=shares_prompts)
    chat_import_run(import_id=record.pk)
    record.refresh_from_db()
    return record


def texts(messages) -> list[str]:
    return [m.content for m in messages]


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def test_a_chatgpt_export_keeps_its_branches_current_leaf_and_times(user):
    record = imported(user, chatgpt_export())
    assert record.state == ChatImport.State.DONE and record.format == ChatImport.Format.CHATGPT
    tides = Conversation.objects.get(owner=user, title="Tides explained")
    assert tides.chat_import == record
    # The branch the user left off on: the code run, its output and the
    # hidden system turn are gone; the picture is left out of the question.
    assert texts(branch_path(tides)) == [
        "How do tides work?",
        "Gravity of the moon and the sun.",
        "What about this picture?",
        "That is a spring tide.",
    ]
    question = branch_path(tides)[0]
    answers = list(question.children.order_by("created_at", "id"))
    assert texts(answers) == ["The moon pulls the sea.", "Gravity of the moon and the sun."]
    # The other branch opens where a branch switch lands, as in ChatGPT.
    assert texts(branch_path(Conversation(current_leaf=latest_leaf_under(answers[0])))) == [
        "How do tides work?",
        "The moon pulls the sea.",
        "And waves?",
        "Wind makes waves.",
    ]
    assert answers[0].model_name == "gpt-4o"
    assert (tides.created_at, tides.updated_at) == (at(T0), at(T0 + 14))
    assert question.created_at == at(T0 + 1) and answers[1].created_at == at(T0 + 12)
    assert record.counts["conversations"] == 2 and record.counts["messages"] == 9
    assert record.counts["skipped"] == {"system": 1, "tool": 2, "non_text_messages": 1, "non_text_parts": 1}


def test_an_answer_split_by_a_tool_call_is_one_answer(user):
    imported(user, chatgpt_export(chatgpt_search()))
    match = Conversation.objects.get(owner=user)
    assert texts(branch_path(match)) == ["Who won the match?", "Let me look.\n\nThe home team won."]


def test_the_export_zip_is_read_for_its_conversations_json(user):
    record = imported(user, chatgpt_zip(chatgpt_export()), name="chatgpt-export.zip")
    assert record.state == ChatImport.State.DONE and record.file_name == "chatgpt-export.zip"
    assert Conversation.objects.filter(owner=user).count() == 2


def test_an_open_webui_export_keeps_its_branches_and_current_leaf(user):
    record = imported(user, open_webui_export(), name="chat-export-1717000000.json")
    assert record.format == ChatImport.Format.OPEN_WEBUI
    paris = Conversation.objects.get(owner=user)
    assert paris.title == "Paris trip"
    assert texts(branch_path(paris)) == [
        "Plan a day in Paris",
        "Eiffel Tower, then Montmartre.",
        "Make it cheaper",
        "Walk everywhere and picnic.",
    ]
    question = branch_path(paris)[0]
    assert texts(question.children.order_by("created_at", "id")) == [
        "Louvre, then the Seine.",
        "Eiffel Tower, then Montmartre.",
    ]
    assert branch_path(paris)[1].model_name == "llama3.1:8b"
    assert (paris.created_at, paris.updated_at) == (at(T0 + 200), at(T0 + 221))
    assert record.counts["skipped"] == {"non_text_parts": 1}


def test_imported_turns_are_judged_by_input_moderation(user):
    """Until judged they are a client's history (the model does not read
    them); once judged a flagged question is refused, and its exchange is
    left out of what the model reads when the chat goes on."""
    export = chatgpt_export(chatgpt_tides(first_question="Should I brawl with the tide?"))
    record = chat_import_create(user=user, upload=upload(export), shares_prompts=False)
    chat_import_run(import_id=record.pk)
    record.refresh_from_db()
    assert record.counts["moderated"] == 7 and record.counts["flagged"] == 1
    tides = Conversation.objects.get(owner=user)
    question, *rest = branch_path(tides)
    assert question.status == MessageStatus.FLAGGED and question.moderation["flagged"]
    assert not any(awaits_moderation(m) for m in Message.objects.filter(conversation=tides))
    follow_up = Message.objects.create(
        conversation=tides, parent=rest[-1], role="user", content="Thanks!", status=MessageStatus.ACCEPTED
    )
    answer = Message.objects.create(conversation=tides, parent=follow_up, role="assistant", status="queued")
    assert [turn["content"] for turn in model_context(answer)] == [
        "What about this picture?",
        "That is a spring tide.",
        "Thanks!",
    ]


@pytest.mark.parametrize(
    "data, message",
    [
        (b"{not json", "The file is not valid JSON (Expecting property name enclosed in double quotes at line 1"),
        (b"\xff\xfe\x00", "The file is not UTF-8 text"),
        (b"[]", "The file holds no conversations"),
        (json.dumps([{"foo": 1}]).encode(), "neither a ChatGPT export (conversations.json) nor an Open WebUI"),
        (
            json.dumps(
                [chatgpt_tides(), {"title": "Broken", "mapping": {"x": {"parent": "x", "children": ["x"]}}}]
            ).encode(),
            "Conversation 2 (“Broken”): its messages do not form a tree.",
        ),
        (
            json.dumps([{"title": "No tree", "mapping": [1, 2]}]).encode(),
            "Conversation 1 (“No tree”) has no message tree.",
        ),
        (b"PK\x03\x04 not really a zip", "The zip cannot be unpacked."),
    ],
)
def test_a_malformed_export_is_refused_whole_with_its_reason(user, data, message):
    with pytest.raises(UserError) as refused:
        chat_import_create(user=user, upload=upload(data), shares_prompts=True)
    assert message in refused.value.message
    assert not Conversation.objects.exists()
    failed = ChatImport.objects.get(owner=user)
    assert failed.state == ChatImport.State.FAILED and message in failed.error


def test_a_zip_without_conversations_json_is_refused(user):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("chat.html", "<html></html>")
    with pytest.raises(UserError, match="The zip holds no conversations.json"):
        chat_import_create(user=user, upload=upload(buffer.getvalue(), "export.zip"), shares_prompts=False)


def test_limits_are_checked_before_the_work_they_bound(user, settings):
    settings.CHAT_IMPORT_MAX_CONVERSATIONS = 1
    with pytest.raises(UserError, match="The export holds 2 conversations; the limit is 1 per import."):
        chat_import_create(user=user, upload=upload(chatgpt_export()), shares_prompts=False)
    settings.CHAT_IMPORT_MAX_CONVERSATIONS = 10
    settings.CHAT_IMPORT_MAX_MESSAGES = 10
    with pytest.raises(UserError, match=r"Conversation 1 \(“Tides explained”\) holds 11 messages; the limit is 10"):
        chat_import_create(user=user, upload=upload(chatgpt_export()), shares_prompts=False)
    settings.CHAT_IMPORT_MAX_MESSAGES = 100
    settings.CHAT_MAX_MESSAGE_CHARS = 20
    with pytest.raises(UserError, match="an answer is 23 characters long; the limit is 20"):
        chat_import_create(user=user, upload=upload(chatgpt_export()), shares_prompts=False)
    settings.CHAT_IMPORT_MAX_MB = 1
    big = upload(b" " * (1024 * 1024 + 1))
    with pytest.raises(UserError, match="The export is larger than 1 MB."):
        chat_import_create(user=user, upload=big, shares_prompts=False)
    unpacks_big = chatgpt_zip(b" " * (1024 * 1024 + 1))
    assert len(unpacks_big) < 1024 * 1024
    with pytest.raises(UserError, match="The export is larger than 1 MB."):
        chat_import_create(user=user, upload=upload(unpacks_big, "export.zip"), shares_prompts=False)
    assert not Conversation.objects.exists()
    assert set(ChatImport.objects.values_list("state", flat=True)) == {ChatImport.State.FAILED}


def test_a_file_that_fails_in_the_worker_stores_nothing(user, settings):
    """The worker reads the file again; one it cannot import (here the
    limits were lowered meanwhile) leaves no conversation behind, and the
    upload is deleted."""
    record = chat_import_create(user=user, upload=upload(chatgpt_export()), shares_prompts=False)
    settings.CHAT_MAX_MESSAGE_CHARS = 20
    chat_import_run(import_id=record.pk)
    record.refresh_from_db()
    assert record.state == ChatImport.State.FAILED and "the limit is 20" in record.error
    assert not Conversation.objects.exists()
    assert not list((settings.DATA_DIR / "chat-imports").iterdir())


def test_a_task_delivered_twice_imports_once(user):
    record = imported(user, chatgpt_export())
    chat_import_run(import_id=record.pk)
    assert Conversation.objects.filter(owner=user).count() == 2


def test_with_consent_accepted_imported_prompts_join_the_pool(user):
    export = chatgpt_export(chatgpt_tides(first_question="Should I brawl with the tide?"), chatgpt_search())
    record = imported(user, export, shares_prompts=True)
    prompts = Prompt.objects.filter(source=Prompt.Source.IMPORT)
    # Every question under the flagged one is left out; the match's is shared.
    assert [p.messages for p in prompts] == [[{"role": "user", "content": "Who won the match?"}]]
    match = Conversation.objects.get(owner=user, title="Match")
    assert prompts[0].source_ref == f"chat import {record.pk}, conversation {match.pk}"
    assert prompts[0].author == user and prompts[0].chat_message == branch_path(match)[0]
    assert record.counts["prompts_shared"] == 1


def test_shared_prompts_carry_their_branch(user):
    record = imported(user, open_webui_export(), shares_prompts=True)
    shared = sorted(len(p.messages) for p in Prompt.objects.filter(source=Prompt.Source.IMPORT))
    assert shared == [1, 3] and record.counts["prompts_shared"] == 2
    longest = Prompt.objects.filter(source=Prompt.Source.IMPORT).order_by("-id")[0]
    assert longest.messages[-1] == {"role": "user", "content": "Make it cheaper"}


def test_without_consent_nothing_is_shared(user):
    record = imported(user, chatgpt_export(), shares_prompts=False)
    assert not Prompt.objects.exists()
    assert record.counts["prompts_shared"] == 0


def test_consent_withdrawn_before_moderation_ends_shares_nothing(user):
    record = chat_import_create(user=user, upload=upload(chatgpt_export()), shares_prompts=True)
    chat_import_sharing_stop(chat_import=record)
    chat_import_run(import_id=record.pk)
    assert not Prompt.objects.exists()


def test_deleted_conversations_are_not_shared(user):
    """The pool takes what the user still has when sharing runs: here the
    sharing is run again after they deleted one imported chat."""
    record = imported(user, chatgpt_export(), shares_prompts=True)
    assert Prompt.objects.count() == 4
    Prompt.objects.all().delete()
    conversation_delete(conversation=Conversation.objects.get(title="Match"))
    assert imported_prompts_share(chat_import=record) == 3
    assert {p.messages[-1]["content"] for p in Prompt.objects.all()} == {
        "How do tides work?",
        "And waves?",
        "What about this picture?",
    }


def test_imports_are_their_owners_alone(user, make_user):
    other = make_user(username="bob")
    record = imported(user, chatgpt_export())
    assert chat_import_list(user=other) == []
    assert [row["item"] for row in chat_import_list(user=user)] == [record]
    assert conversation_list(user=other) == []
    listed = conversation_list(user=user)
    assert len(listed) == 2 and all(row["imported"] for row in listed)


def test_one_import_at_a_time(user):
    chat_import_create(user=user, upload=upload(chatgpt_export()), shares_prompts=False)
    with pytest.raises(UserError, match="Your last import is still in progress"):
        chat_import_create(user=user, upload=upload(chatgpt_export()), shares_prompts=False)


def test_an_import_whose_worker_never_came_is_given_up(user, settings):
    """Housekeeping's part: the upload is deleted, the user told, and a new
    upload taken."""
    waiting = chat_import_create(user=user, upload=upload(chatgpt_export()), shares_prompts=False)
    assert chat_imports_expire() == 0
    ChatImport.objects.filter(pk=waiting.pk).update(created_at=timezone.now() - timedelta(minutes=61))
    assert chat_imports_expire() == 1
    waiting.refresh_from_db()
    assert waiting.state == ChatImport.State.FAILED and "upload it again" in waiting.error
    assert not list((settings.DATA_DIR / "chat-imports").iterdir())
    assert not Conversation.objects.exists()
    imported(user, chatgpt_export())
    assert Conversation.objects.filter(owner=user).count() == 2


def test_deleting_the_account_deletes_its_imports(user, settings):
    imported(user, chatgpt_export())
    waiting = chat_import_create(user=user, upload=upload(chatgpt_export(chatgpt_search())), shares_prompts=False)
    assert (settings.DATA_DIR / "chat-imports" / f"{waiting.pk}.json").exists()
    account_delete(user=user)
    assert not ChatImport.objects.exists()
    assert not list((settings.DATA_DIR / "chat-imports").iterdir())
    assert not Conversation.objects.filter(owner=user, deleted_at__isnull=True).exists()


def test_the_data_export_lists_the_imports(user):
    imported(user, chatgpt_export(), shares_prompts=True)
    data = user_data_export(user=user)
    [listed] = data["chat_imports"]
    assert listed["file_name"] == "conversations.json" and listed["state"] == "done" and listed["shares_prompts"]
    assert {c["title"] for c in data["conversations"]} == {"Tides explained", "Match"}


def test_the_database_holds_one_unfinished_import_per_user(user, make_user):
    """What keeps two uploads at the same moment from both starting one:
    the service's check before parsing cannot see a row not yet saved."""
    ChatImport.objects.create(owner=user, format="chatgpt", file_name="a.json", file_size=1)
    ChatImport.objects.create(owner=make_user(username="bob"), format="chatgpt", file_name="b.json", file_size=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        ChatImport.objects.create(owner=user, format="chatgpt", file_name="c.json", file_size=1)
    ChatImport.objects.filter(owner=user).update(state=ChatImport.State.DONE, finished_at=timezone.now())
    ChatImport.objects.create(owner=user, format="chatgpt", file_name="c.json", file_size=1)
