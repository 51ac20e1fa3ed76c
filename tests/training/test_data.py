import json

import pytest

from training.data import (
    DataError,
    hh_pair,
    hh_to_preference,
    load_preference_groups,
    load_prompts,
    parse_hh_transcript,
    split_groups,
)

from .conftest import preference_rows, write_jsonl


class TestPreferenceGroup:
    def test_pairs_of_a_ranking_share_one_group(self, tmp_path):
        groups = load_preference_groups(write_jsonl(tmp_path / "p.jsonl", preference_rows(groups=2)))
        assert [g.group_id for g in groups] == ["task-0", "task-1"]
        for group in groups:
            assert len(group.responses) == 3  # each answer once, however many pairs name it
            assert sorted((c, r) for c, r, _ in group.pairs) == [(0, 1), (0, 2), (1, 2)]  # all C(3,2)
        assert groups[0].pairs[1] == (0, 2, 2.0)  # margin kept

    def test_split_never_divides_a_group(self, tmp_path):
        groups = load_preference_groups(write_jsonl(tmp_path / "p.jsonl", preference_rows(groups=20)))
        train, held = split_groups(groups, 0.25, seed=3)
        assert len(held) == 5 and len(train) == 15
        assert not {g.group_id for g in train} & {g.group_id for g in held}
        assert sum(len(g.pairs) for g in train + held) == 60

    def test_group_with_two_prompts_is_an_error(self, tmp_path):
        rows = preference_rows(groups=2)
        rows[3]["group_id"] = "task-0"
        with pytest.raises(DataError, match="different prompts"):
            load_preference_groups(write_jsonl(tmp_path / "p.jsonl", rows))

    def test_bad_line_is_named(self, tmp_path):
        path = tmp_path / "p.jsonl"
        path.write_text(json.dumps(preference_rows(1)[0]) + "\n{oops\n")
        with pytest.raises(DataError, match="p.jsonl:2: invalid JSON"):
            load_preference_groups(path)


class TestHh:
    def test_transcripts_become_preference_rows(self):
        records = [
            (
                1,
                {
                    "chosen": "\n\nHuman: Hi\n\nAssistant: Hello\n\nHuman: Help me\n\nAssistant: Sure.",
                    "rejected": "\n\nHuman: Hi\n\nAssistant: Hello\n\nHuman: Help me\n\nAssistant: No.",
                },
            ),
            (2, {"chosen": "\n\nHuman: A\n\nAssistant: same", "rejected": "\n\nHuman: A\n\nAssistant: same"}),
            (3, {"chosen": "no turns", "rejected": "x"}),
        ]
        rows, skipped = hh_to_preference(records)
        assert skipped == 2
        assert rows == [
            {
                "prompt": [
                    {"role": "user", "content": "Hi"},
                    {"role": "assistant", "content": "Hello"},
                    {"role": "user", "content": "Help me"},
                ],
                "chosen": [{"role": "assistant", "content": "Sure."}],
                "rejected": [{"role": "assistant", "content": "No."}],
                "margin": 0.0,
                "group_id": "hh-1",
            }
        ]

    def test_transcripts_split_into_stripped_turns_and_repeated_speakers_merge(self):
        assert parse_hh_transcript("\n\nHuman: a \n\nAssistant:  b\n\nAssistant: c\n\n\nHuman: d") == [
            {"role": "user", "content": "a"},
            {"role": "assistant", "content": "b\n\nc"},
            {"role": "user", "content": "d"},
        ]

    @pytest.mark.parametrize(
        "record, problem",
        [
            ({"chosen": "\n\nHuman: q\n\nAssistant: a"}, 'missing "rejected"'),
            ({"chosen": 1, "rejected": "x"}, '"chosen" must be a string'),
            ({"chosen": "\n\nHuman: q", "rejected": "\n\nHuman: q\n\nAssistant: b"}, "chosen does not end"),
        ],
    )
    def test_a_bad_record_says_what_is_wrong(self, record, problem):
        with pytest.raises(ValueError, match=problem):
            hh_pair(record)


class TestPrompt:
    def test_trailing_assistant_turn_is_dropped(self, tmp_path):
        path = write_jsonl(
            tmp_path / "p.jsonl",
            [
                {"messages": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "A"}]},
                {"prompt": "plain text"},
            ],
        )
        assert load_prompts(path) == [[{"role": "user", "content": "Q"}], [{"role": "user", "content": "plain text"}]]
