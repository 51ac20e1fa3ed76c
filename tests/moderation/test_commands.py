import json

import pytest
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db


def test_moderate_writes_one_verdict_per_line(tmp_path, capsys):
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(json.dumps({"text": text}) for text in ["hello there", "I will kill you", ""]) + "\n\n")
    target = tmp_path / "out.jsonl"
    call_command("moderate", input=str(source), output=str(target))
    verdicts = [json.loads(line) for line in target.read_text().splitlines()]
    assert [v["flagged"] for v in verdicts] == [False, True, False]
    assert set(verdicts[1]) == {"flagged", "score", "categories", "category_scores", "layer"}
    assert verdicts[1]["layer"] == "rules"
    assert "3/3" in capsys.readouterr().err


@pytest.mark.parametrize("bad_line", ["{not json", json.dumps({"prompt": "no text"}), json.dumps(["text"])])
def test_a_bad_line_is_named_before_anything_is_written(tmp_path, bad_line):
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"text": "fine"}) + "\n" + bad_line + "\n")
    target = tmp_path / "out.jsonl"
    with pytest.raises(CommandError, match="line 2"):
        call_command("moderate", input=str(source), output=str(target))
    assert not target.exists()
