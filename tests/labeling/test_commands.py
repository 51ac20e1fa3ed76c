import gzip
import json

import pytest
from django.core.management import CommandError, call_command

from labeling.models import DatasetSnapshot, Prompt, PromptImport

from .conftest import hh_line, write_lines

pytestmark = pytest.mark.django_db


@pytest.fixture
def hh_file(tmp_path):
    lines = [hh_line([("user", f"Question {i}?")], f"Good answer {i}", f"Bad answer {i}") for i in range(12)]
    path = tmp_path / "hh.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as out:
        out.write("\n".join([*lines, lines[0]]) + "\n")
    return path


def test_import_hh_with_a_snapshot_then_export_it(hh_file, tmp_path, capsys):
    call_command("import_prompts", str(hh_file), format="hh", snapshot="hh-base")
    out = capsys.readouterr().out
    assert "13 lines, 13 items" in out and "items/s" in out
    assert "12 new, 1 duplicates skipped" in out
    snapshot = DatasetSnapshot.objects.get()
    assert (str(snapshot), snapshot.kind, snapshot.item_count) == ("hh-base@1", "preference", 12)
    assert snapshot.content_hash in out

    target = tmp_path / "pairs.jsonl"
    call_command("export_dataset", "hh-base", format="preference", output=str(target))
    pairs = [json.loads(line) for line in target.read_text().splitlines()]
    assert len(pairs) == 12
    assert set(pairs[0]) == {"prompt", "chosen", "rejected", "margin", "group_id"}
    assert "Wrote 12 preference lines from hh-base@1" in capsys.readouterr().err


def test_export_to_standard_output_and_by_version(hh_file, capsys):
    call_command("import_prompts", str(hh_file), format="hh", snapshot="hh-base")
    capsys.readouterr()
    call_command("export_dataset", "hh-base@1", format="oasst", output="-")
    trees = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(trees) == 12 and trees[0]["prompt"]["role"] == "prompter"


def test_a_bad_file_names_its_line_and_imports_nothing(tmp_path):
    path = write_lines(tmp_path / "prompts.jsonl", [json.dumps({"prompt": "fine"}), json.dumps({"prompt": ""})])
    with pytest.raises(CommandError, match=r"prompts.jsonl, line 2: message 1 has empty text"):
        call_command("import_prompts", str(path), format="jsonl")
    assert not Prompt.objects.exists() and not PromptImport.objects.exists()


def test_unreadable_files_and_unknown_snapshots_are_clear_errors(tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_prompts", str(tmp_path / "missing.jsonl"), format="jsonl")
    with pytest.raises(CommandError, match="needs ranked data"):
        call_command("import_prompts", str(tmp_path / "x.jsonl"), format="jsonl", snapshot="x")
    with pytest.raises(CommandError, match="No snapshot is named 'nope'"):
        call_command("export_dataset", "nope", format="preference", output=str(tmp_path / "out.jsonl"))


def test_create_snapshot_and_a_format_its_kind_has_not(hh_file, tmp_path, capsys):
    call_command("import_prompts", str(hh_file), format="hh")
    call_command("create_snapshot", "mixed", kind="preference", sources=["import"], min_agreement=None)
    assert "mixed@1: 12 items" in capsys.readouterr().out
    with pytest.raises(CommandError, match="cannot be exported as sft-messages"):
        call_command("export_dataset", "mixed", format="sft-messages", output=str(tmp_path / "out.jsonl"))
    assert not (tmp_path / "out.jsonl").exists()
    with pytest.raises(CommandError, match="No items match"):
        call_command("create_snapshot", "agreed", kind="preference", min_agreement=0.5)


def test_create_snapshot_offers_only_the_task_kinds_an_sft_snapshot_takes():
    """argparse refuses the others by name, before any work is done."""
    with pytest.raises(CommandError, match="invalid choice: 'label'"):
        call_command("create_snapshot", "sft", "--kind", "sft", "--task-kind", "label")
