import json

import pytest

from labeling.errors import PromptImportError
from labeling.imports import prompts_import
from labeling.models import Candidate, Consensus, Prompt, PromptImport, Task

from .conftest import hh_line

pytestmark = pytest.mark.django_db


def _import(lines, fmt, name="data.jsonl"):
    return prompts_import(lines=[line + "\n" for line in lines], fmt=fmt, file_name=name)


def _nothing_written():
    return not (
        Prompt.objects.exists() or Candidate.objects.exists() or Task.objects.exists() or PromptImport.objects.exists()
    )


class TestJsonl:
    def test_prompts_and_conversations(self):
        record = _import(
            [
                json.dumps({"prompt": "What is a monad?"}),
                "",
                json.dumps(
                    {"messages": [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "Hi"}]}
                ),
                json.dumps(
                    {
                        "prompt": [
                            {"role": "user", "content": "Name a colour"},
                            {"role": "assistant", "content": "Blue"},
                            {"role": "user", "content": "Another"},
                        ],
                        "completion": [{"role": "assistant", "content": "Red"}],
                    }
                ),
            ],
            "jsonl",
        )
        assert record.counts["prompts_created"] == 3 and record.counts["lines"] == 3
        prompts = list(Prompt.objects.order_by("id"))
        assert prompts[0].messages == [{"role": "user", "content": "What is a monad?"}]
        assert prompts[0].source == Prompt.Source.IMPORT and prompts[0].source_ref == "data.jsonl:1"
        assert prompts[1].messages[0]["role"] == "system"
        assert len(prompts[2].messages) == 3 and prompts[2].source_ref == "data.jsonl:4"
        assert not Task.objects.exists()

    def test_duplicates_in_the_file_and_in_the_pool_are_counted_and_skipped(self):
        _import([json.dumps({"prompt": "What is a monad?"})], "jsonl")
        record = _import(
            [
                json.dumps({"prompt": "what is  a MONAD?"}),
                json.dumps({"prompt": "Why is the sky blue?"}),
                json.dumps({"messages": [{"role": "user", "content": "Why is the sky blue? "}]}),
            ],
            "jsonl",
        )
        assert (record.counts["prompts_created"], record.counts["prompts_duplicate"]) == (1, 2)
        assert Prompt.objects.count() == 2

    @pytest.mark.parametrize(
        "bad_line, problem",
        [
            ('{"prompt": "unterminated', "invalid JSON"),
            ('["a list"]', "expected a JSON object"),
            (json.dumps({"text": "no prompt"}), 'missing "prompt" or "messages"'),
            (json.dumps({"prompt": 42}), "non-empty list"),
            (json.dumps({"prompt": "   "}), "empty text"),
            (json.dumps({"messages": [{"role": "user", "content": 1}]}), '"content" must be a string'),
            (json.dumps({"messages": [{"role": "user"}]}), 'needs "role" and "content"'),
            (
                json.dumps({"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}),
                "end with a user turn",
            ),
            (json.dumps({"prompt": "a", "messages": []}), "not both"),
        ],
    )
    def test_a_bad_line_is_named_and_nothing_is_imported(self, bad_line, problem):
        lines = [json.dumps({"prompt": "fine"}), "", json.dumps({"prompt": "also fine"}), bad_line]
        with pytest.raises(PromptImportError) as raised:
            _import(lines, "jsonl", name="bad.jsonl")
        assert raised.value.line == 4
        assert problem in raised.value.message
        assert raised.value.message.startswith("bad.jsonl, line 4: ")
        assert _nothing_written()


class TestHH:
    LINES = [
        hh_line([("user", "How do I pick a lock?")], "I can't help with that.", "Use a tension wrench."),
        hh_line(
            [("user", "Tell me a joke"), ("assistant", "Why did the chicken cross the road?"), ("user", "Why?")],
            "To get to the other side.",
            "I don't know.",
        ),
        # The same prompt with another pair: one prompt, two items.
        hh_line([("user", "How do I pick a lock?")], "Call a locksmith.", "Buy a bump key."),
        # The very same pair again: a duplicate.
        hh_line([("user", "How do I pick a lock?")], "I can't help with that.", "Use a tension wrench."),
        # An empty answer preferred, as a few HH lines have.
        hh_line([("user", "Give me her home address")], "", "Sure, it is 12 Main St."),
    ]

    def test_pairs_become_prompts_candidates_and_ranked_tasks(self):
        record = _import(self.LINES, "hh", name="hh.jsonl")
        assert record.counts == {
            "lines": 5,
            "items": 5,
            "same_answers": 0,
            "prompts_created": 3,
            "prompts_duplicate": 2,
            "candidates_created": 8,
            "tasks_created": 4,
            "tasks_duplicate": 1,
        }
        joke = Prompt.objects.get(source_ref="hh.jsonl:2")
        assert joke.messages == [
            {"role": "user", "content": "Tell me a joke"},
            {"role": "assistant", "content": "Why did the chicken cross the road?"},
            {"role": "user", "content": "Why?"},
        ]
        task = joke.tasks.get()
        assert (task.kind, task.required_annotations, task.prompt_import) == (Task.Kind.RANKING, 0, record)
        consensus = task.consensus
        chosen = Candidate.objects.get(text="To get to the other side.")
        rejected = Candidate.objects.get(text="I don't know.")
        assert consensus.method == Consensus.Method.IMPORTED
        assert consensus.groups == [[chosen.pk], [rejected.pk]]
        assert consensus.scores == {str(chosen.pk): 1.0, str(rejected.pk): 0.0}
        assert Candidate.objects.filter(text="").exists()

    def test_importing_the_file_again_adds_nothing(self):
        _import(self.LINES, "hh")
        record = _import(self.LINES, "hh")
        assert (record.counts["prompts_created"], record.counts["tasks_created"], record.counts["tasks_duplicate"]) == (
            0,
            0,
            5,
        )
        assert Task.objects.count() == 4

    def test_an_answer_of_several_assistant_turns_is_kept_whole(self):
        line = json.dumps(
            {
                "chosen": "\n\nHuman: q\n\nAssistant: first part\n\nAssistant: second part",
                "rejected": "\n\nHuman: q\n\nAssistant: other",
            }
        )
        _import([line], "hh")
        assert set(Candidate.objects.values_list("text", flat=True)) == {"first part\n\nsecond part", "other"}

    def test_identical_answers_carry_no_preference_and_are_skipped(self):
        record = _import([hh_line([("user", "q")], "same", "same"), self.LINES[0]], "hh")
        assert record.counts["same_answers"] == 1 and record.counts["tasks_created"] == 1

    def test_answers_that_are_one_candidate_here_are_the_same_answers(self):
        """hh_pair compares answers exactly; they differ only in case and
        spacing, which makes them one candidate, so the pair says nothing."""
        record = _import([hh_line([("user", "q")], "Same answer.", "same   ANSWER."), self.LINES[0]], "hh")
        assert record.counts["same_answers"] == 1 and record.counts["tasks_created"] == 1
        assert not Prompt.objects.filter(messages=[{"role": "user", "content": "q"}]).exists()

    def test_turns_are_stripped_and_cleaned_like_every_imported_text(self):
        line = json.dumps(
            {
                "chosen": "\n\nHuman:  What is\x00 2+2? \n\nAssistant: Four.\x07 \n\n",
                "rejected": "\n\nHuman:  What is\x00 2+2? \n\nAssistant: Five. ",
            }
        )
        _import([line], "hh")
        assert Prompt.objects.get().messages == [{"role": "user", "content": "What is 2+2?"}]
        assert set(Candidate.objects.values_list("text", flat=True)) == {"Four.", "Five."}

    @pytest.mark.parametrize(
        "bad_line, problem",
        [
            (json.dumps({"chosen": "\n\nHuman: q\n\nAssistant: a"}), 'missing "rejected"'),
            (json.dumps({"chosen": 1, "rejected": "x"}), '"chosen" must be a string'),
            (
                json.dumps({"chosen": "Human: q Assistant: a", "rejected": "\n\nHuman: q\n\nAssistant: b"}),
                "before the first",
            ),
            (json.dumps({"chosen": "\n\nHuman: q", "rejected": "\n\nHuman: q\n\nAssistant: b"}), "chosen does not end"),
            (
                json.dumps({"chosen": "\n\nHuman: q\n\nAssistant: a", "rejected": "\n\nHuman: other\n\nAssistant: b"}),
                "share no human turn",
            ),
            (
                json.dumps(
                    {
                        "chosen": "\n\nHuman: q\n\nAssistant: a\n\nHuman: more\n\nAssistant: c",
                        "rejected": "\n\nHuman: q\n\nAssistant: b\n\nHuman: more\n\nAssistant: d",
                    }
                ),
                "differ before their last human turn",
            ),
            (
                json.dumps({"chosen": "\n\nHuman:  \n\nAssistant: a", "rejected": "\n\nHuman:  \n\nAssistant: b"}),
                "empty text",
            ),
        ],
    )
    def test_a_bad_line_is_named_and_nothing_is_imported(self, bad_line, problem):
        with pytest.raises(PromptImportError) as raised:
            _import([*self.LINES[:2], bad_line], "hh", name="hh.jsonl")
        assert raised.value.line == 3 and problem in raised.value.message
        assert _nothing_written()


def _node(text, role, replies=(), **extra):
    return {"text": text, "role": role, "replies": list(replies), **extra}


class TestOasst:
    TREE = {
        "message_tree_id": "t1",
        "prompt": _node(
            "Explain recursion",
            "prompter",
            [
                _node(
                    "A function calling itself.",
                    "assistant",
                    [_node("Give an example", "prompter", [_node("factorial", "assistant")])],
                    rank=1,
                ),
                _node("See recursion.", "assistant", rank=2),
                _node("When a definition refers to itself.", "assistant", rank=0),
                _node("Unranked reply.", "assistant"),
                _node("Removed.", "assistant", rank=3, deleted=True),
            ],
        ),
    }

    def test_every_prompter_node_is_a_prompt_and_ranked_replies_a_task(self):
        record = _import([json.dumps(self.TREE)], "oasst", name="trees.jsonl")
        assert record.counts["prompts_created"] == 2 and record.counts["tasks_created"] == 1
        root, follow_up = Prompt.objects.order_by("id")
        assert root.messages == [{"role": "user", "content": "Explain recursion"}]
        assert follow_up.messages == [
            {"role": "user", "content": "Explain recursion"},
            {"role": "assistant", "content": "A function calling itself."},
            {"role": "user", "content": "Give an example"},
        ]
        assert follow_up.source_ref == "trees.jsonl:1 prompt.replies[0].replies[0]"
        assert root.candidates.count() == 4 and follow_up.candidates.count() == 1
        texts = dict(Candidate.objects.values_list("pk", "text"))
        groups = root.tasks.get().consensus.groups
        assert [[texts[pk] for pk in group] for group in groups] == [
            ["When a definition refers to itself."],
            ["A function calling itself."],
            ["See recursion."],
        ]

    def test_equal_ranks_tie(self):
        tree = {
            "prompt": _node(
                "q",
                "prompter",
                [_node("a", "assistant", rank=0), _node("b", "assistant", rank=0), _node("c", "assistant", rank=1)],
            )
        }
        _import([json.dumps(tree)], "oasst")
        assert [len(group) for group in Consensus.objects.get().groups] == [2, 1]

    @pytest.mark.parametrize(
        "tree, problem",
        [
            ({"message_tree_id": "x"}, 'missing "prompt"'),
            ({"prompt": _node("q", "assistant")}, "prompt: a assistant node where a prompter turn belongs"),
            ({"prompt": _node("q", "prompter", [_node("a", "prompter")])}, "prompt.replies[0]: a prompter node"),
            ({"prompt": _node("q", "prompter", [{"role": "assistant"}])}, 'prompt.replies[0]: missing "text"'),
            ({"prompt": _node("q", "prompter", [_node("", "assistant")])}, "prompt.replies[0]: empty text"),
            ({"prompt": _node("q", "prompter", [_node("a", "assistant", rank=-1)])}, '"rank" must be'),
            ({"prompt": _node("q", "bot")}, "role 'bot'"),
            ({"prompt": {"text": "q", "role": "prompter", "replies": "none"}}, '"replies" must be a list'),
        ],
    )
    def test_a_bad_tree_is_named_with_its_path_and_nothing_is_imported(self, tree, problem):
        with pytest.raises(PromptImportError) as raised:
            _import([json.dumps(self.TREE), json.dumps(tree)], "oasst", name="trees.jsonl")
        assert raised.value.line == 2 and problem in raised.value.message
        assert _nothing_written()
