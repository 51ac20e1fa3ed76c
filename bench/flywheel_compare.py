"""A finished flywheel round's policies side by side, from the run's folder:
KTO trained on the round's rankings (if the run has none), then each of PPO,
DPO and KTO against the round's start and each pair against each other, on
the run's held-out evaluation set, judged by its hidden preference (what
bench/flywheel.py does at the end of a round, for runs made before it
trained KTO, or again with other evaluation settings, such as a longer
answer cap).

    python bench/flywheel_compare.py --run /tmp/bench-flywheel-XXXX [--round 0] [--baseline VERSION]
                                     [--policies ppo,dpo,kto] [--retrain ppo] [--set kto:max_steps=60]
                                     [--set ppo:max_new_tokens=96] [--set evaluate:max_new_tokens=192]
                                     [--out bench/results/flywheel_compare.json]

--baseline names another baseline for the against-the-start evaluations, such
as the bundled model for round 1's policies (trained from round 0's), to
see what two rounds gained; --policies compares fewer (KTO is trained only
when it is named); --retrain trains the policies it names again, from the
round's start and rankings with the --set values (PPO against the round's
reward model), and compares those instead.

The run's folder holds its SQLite database and DATA_DIR (bench/flywheel.py
prints neither but leaves both, named bench-flywheel-*, in the temporary
folder). A training worker on a queue of its own runs the jobs; REDIS_URL
as for bench/flywheel.py.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.flywheel import Stages, app_setup, policies_compare, policy_train  # noqa: E402
from bench.training_jobs import overrides_argument, overrides_parse  # noqa: E402
from tests.processes import start_celery_worker  # noqa: E402


def round_inputs(number: int) -> dict:
    """What the run stored for round `number`: its admin, hidden preference,
    evaluation set, snapshot, start, and the policies it trained."""
    from accounts.models import User
    from evaluation.models import EvaluationSet
    from labeling.models import DatasetSnapshot
    from registry.models import ModelVersion

    snapshot = DatasetSnapshot.objects.filter(name=f"flywheel-round-{number}").order_by("-version").first()
    if snapshot is None:
        raise SystemExit(f"The run has no snapshot of round {number}: did the round get that far?")
    trained: dict = {}
    for version in (
        ModelVersion.objects.filter(job__snapshot=snapshot).order_by("job_id").select_related("job__base_version")
    ):
        trained.setdefault(version.job.kind, version)  # the first of a kind: the run's own, not one trained again
    if "ppo" not in trained or "dpo" not in trained:
        raise SystemExit(f"Round {number} has no PPO or DPO version: the run stopped before they were trained.")
    return {
        "admin": User.objects.get(username="flywheel-admin"),
        "hidden": ModelVersion.objects.get(job__kind="reward", job__snapshot__name="hidden"),
        "evaluation_set": EvaluationSet.objects.get(name="flywheel-held-out"),
        "snapshot": snapshot,
        "start": trained["ppo"].job.base_version,
        "trained": trained,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", required=True, help="the folder of a bench/flywheel.py run")
    parser.add_argument("--round", type=int, default=0)
    parser.add_argument("--baseline", default="", help="a version name (default: the round's start)")
    parser.add_argument("--policies", default="ppo,dpo,kto", help="comma-separated, of ppo, dpo and kto")
    parser.add_argument(
        "--retrain", default="", help="comma-separated policies to train again (with the --set values) and compare"
    )
    overrides_argument(parser, "ppo, dpo, kto or evaluate")
    parser.add_argument("--out", default=str(ROOT / "bench/results/flywheel_compare.json"))
    args = parser.parse_args()
    overrides = overrides_parse(args.overrides, ("ppo", "dpo", "kto", "evaluate"))
    names, retrain = args.policies.split(","), [name for name in args.retrain.split(",") if name]
    if not names or not set(names) <= {"ppo", "dpo", "kto"} or not set(retrain) <= set(names):
        parser.error("--policies takes a comma-separated list of ppo, dpo and kto; --retrain some of those")
    workdir = Path(args.run).resolve()
    if not (workdir / "bench.sqlite3").is_file():
        parser.error(f"{workdir} holds no bench.sqlite3: not a bench/flywheel.py run")
    queue = app_setup(workdir, "flywheel")
    from registry.models import ModelVersion

    inputs = round_inputs(args.round)
    baseline = ModelVersion.objects.get(name=args.baseline) if args.baseline else inputs["start"]
    stages = Stages()
    label = f"round {args.round}"
    report = {
        "machine": f"{os.cpu_count()} CPUs",
        "date": time.strftime("%Y-%m-%d"),
        "run": workdir.name,
        "round": args.round,
        "start": inputs["start"].name,
        "baseline": baseline.name,
        "settings": {"overrides": args.overrides, "retrain": retrain},
        "trained": {},
    }

    def train(name: str):
        report["trained"][name] = policy_train(
            stages,
            label,
            inputs["admin"],
            name,
            overrides[name],
            start=inputs["start"],
            snapshot=inputs["snapshot"],
            reward_version=inputs["trained"]["reward"],
        )
        return ModelVersion.objects.get(job_id=report["trained"][name]["job"])

    worker = start_celery_worker(dict(os.environ), workdir, queues=queue, name="compare-training", concurrency=1)
    try:
        for name in names:
            if name in retrain or name not in inputs["trained"]:
                inputs["trained"][name] = train(name)
        policies = {name: inputs["trained"][name] for name in names}
        report["evaluations"], report["head_to_head"] = policies_compare(
            inputs, stages, overrides["evaluate"], label, baseline, policies
        )
    finally:
        worker.stop()
        report["stage_seconds"] = stages.times
        Path(args.out).write_text(json.dumps(report, indent=1, default=str))
    for name, result in {**report["evaluations"], **report["head_to_head"]}.items():
        final = result["final"]
        print(
            f"{name}: win rate {final.get('win_rate', float('nan')):.3f} "
            f"({final.get('win_rate_low', float('nan')):.3f}-{final.get('win_rate_high', float('nan')):.3f}), "
            f"length {final.get('mean_length_candidate', float('nan')):.1f} "
            f"against {final.get('mean_length_baseline', float('nan')):.1f}"
        )


if __name__ == "__main__":
    main()
