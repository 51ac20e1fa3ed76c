"""A finished evaluation job's figures (worker side): the recipe's, plus
the share of red-team answers that output moderation flags, which the
recipe cannot judge (it runs without Django). Called by the runner only."""

import json
from pathlib import Path

from moderation.pipeline import moderate_many

from .models import TrainingJob

SIDES = ("candidate", "baseline")


def _red_team_rows(output_dir: Path) -> list[dict]:
    path = output_dir / "red_team_answers.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def evaluation_results_record(*, job: TrainingJob, output_dir: Path, summary: dict) -> TrainingJob:
    """Stores the figures in job.results; with a red-team set, also
    red_team_flagged_share_<side>: the share of each model's answers to the
    red-team prompts that output moderation flags (as it would in chat)."""
    results = dict(summary.get("final", {}))
    rows = _red_team_rows(output_dir)
    if rows:
        results["red_team_prompts"] = len(rows)
        for side in SIDES:
            verdicts = moderate_many([row[side] for row in rows], "assistant")
            results[f"red_team_flagged_share_{side}"] = sum(v.flagged for v in verdicts) / len(rows)
    job.results = results
    job.save(update_fields=["results"])
    return job
