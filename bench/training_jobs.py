"""The InstructGPT recipe as jobs from the web app, on this machine, with the
bundled SmolLM2-135M: SFT on demonstrations written through annotator tasks,
a reward model on the HH harmless pairs, then PPO from the SFT version
against that reward model. Each job is started by a POST to the new-job page
(/jobs/new/, the view a browser uses, through Django's test client) with a
preset, and run by a real Celery training worker.

With --evaluate, the HH pairs are split in two imports: the policy's reward
model trains on the first half, a judge reward model on the second (the
policy never trains against its judge), and an evaluation set of held-out
prompts is drawn before any training (every training export then leaves
them out). DPO trains from the SFT version on the same rankings as the
policy's reward model, and evaluation jobs compare SFT with the bundled
model, and PPO and DPO with SFT, judged by the judge.

    python bench/training_jobs.py [--hh ../shared/data/preferences_hh_harmless_train.jsonl.gz]
                                  [--demos 50] [--set reward:epochs=1.0 ...]
                                  [--out bench/results/training_jobs.json]

Runs on a throw-away SQLite database and DATA_DIR, with a worker on a
training queue of its own on the local Redis (REDIS_URL). Reported per job:
wall time (claimed to finished), steps, and the recipe's final metrics: the
reward model's held-out pairwise accuracy (the recipe holds out 10% of the
rankings), PPO's reward and KL at the first and last steps.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.processes import start_celery_worker  # noqa: E402

FINAL = ("succeeded", "failed", "cancelled")
PPO_CURVES = (
    "reward",
    "reward_with_penalty",
    "rlhf_reward",
    "score_length_correlation",
    "kl",
    "entropy",
    "response_length",
    "no_eos_fraction",
)


def _hh_demonstrations(hh: str, count: int) -> list[tuple[list[dict], str]]:
    """Single-turn HH prompts and their chosen answers: the demonstrations
    the annotators write."""
    from training.data import hh_pair, read_jsonl

    demos = []
    for _, record in read_jsonl(hh):
        pair = hh_pair(record)
        if pair and len(pair[0]) == 1:
            demos.append((pair[0], pair[1]))
        if len(demos) == count:
            break
    return demos


def _split_halves(hh: str, workdir: Path) -> tuple[Path, Path]:
    """The HH file's lines in two files: the first half and the rest."""
    import gzip

    opener = gzip.open if hh.endswith(".gz") else open
    with opener(hh, "rt", encoding="utf-8") as stream:
        lines = [line for line in stream if line.strip()]
    half = len(lines) // 2
    first, second = workdir / "hh-a.jsonl", workdir / "hh-b.jsonl"
    first.write_text("".join(lines[:half]), encoding="utf-8")
    second.write_text("".join(lines[half:]), encoding="utf-8")
    return first, second


def prepare(hh: str, demo_count: int, *, evaluate: bool = False, eval_prompts: int = 64, workdir: Path) -> dict:
    """Imports the pairs (with their preference snapshot; with `evaluate`,
    two halves and an evaluation set drawn first), has an annotator write
    the demonstrations through demonstration tasks, input moderation judge
    them as its worker would, and snapshots those it passed."""
    from django.core.management import call_command

    from accounts.models import Role, User
    from labeling.assignments import demonstration_submit, task_assign_next, task_create_demonstration
    from labeling.datasets import snapshot_create
    from labeling.demonstration_moderation import demonstration_moderate
    from labeling.models import DatasetSnapshot, Prompt
    from labeling.text import messages_hash
    from registry.services import model_version_import_bundled

    call_command("migrate", verbosity=0)
    base = model_version_import_bundled(models_dir=ROOT / "var" / "models")
    admin = User.objects.create_superuser("bench-admin", "", "x", role=Role.ADMIN)
    annotator = User.objects.create_user("bench-annotator", "", "x", role=Role.ANNOTATOR)
    started = time.perf_counter()
    quiet = open(os.devnull, "w")
    if evaluate:
        first, second = _split_halves(hh, workdir)
        call_command("import_prompts", str(first), "--format", "hh", "--snapshot", "hh-harmless", stdout=quiet)
        call_command("import_prompts", str(second), "--format", "hh", "--snapshot", "hh-judge", stdout=quiet)
    else:
        call_command("import_prompts", hh, "--format", "hh", "--snapshot", "hh-harmless", stdout=quiet)
    imported_s = time.perf_counter() - started
    written, judged = 0, Counter()
    for messages, answer in _hh_demonstrations(hh, demo_count):
        task_create_demonstration(
            prompt=Prompt.objects.get(content_hash=messages_hash(messages)), required_annotations=1
        )
        assignment = task_assign_next(annotator=annotator, kind="demonstration")
        demonstration = demonstration_submit(assignment=assignment, content=answer)
        # What the moderation worker does once the demonstration is stored.
        judged[demonstration_moderate(demonstration_id=demonstration.pk)] += 1
        written += 1
    demos = snapshot_create(name="demos", kind=DatasetSnapshot.Kind.SFT)
    prepared = {
        "admin": admin,
        "base": base,
        "preferences": DatasetSnapshot.objects.get(name="hh-harmless"),
        "demos": demos,
        "demonstrations": written,
        "demonstrations_moderation": dict(judged),
        "import_s": imported_s,
    }
    if evaluate:
        from evaluation.services import evaluation_set_from_snapshot

        judge_data = DatasetSnapshot.objects.get(name="hh-judge")
        prepared["judge_data"] = judge_data
        # Drawn from the judge's half, before anything trains: no export
        # holds these prompts from now on (policy RM, PPO, DPO, judge alike).
        prepared["evaluation_set"] = evaluation_set_from_snapshot(
            name="hh-held-out", purpose="general", snapshot=judge_data, created_by=admin, count=eval_prompts
        )
    return prepared


def run_job(admin, kind: str, preset: str, overrides: dict, **inputs) -> dict:
    """Starts a job from the new-job page and waits for it to end."""
    from django.test import Client

    from jobs.models import TrainingJob

    client = Client(HTTP_HOST="localhost")
    client.force_login(admin)
    data = {
        "kind": kind,
        "preset": preset,
        "hyperparameters": json.dumps(overrides),
        **{name: [v.pk for v in value] if isinstance(value, list) else value.pk for name, value in inputs.items()},
    }
    response = client.post("/jobs/new/", data)
    if response.status_code != 302:
        raise RuntimeError(f"{kind}: the form refused the job: {response.context['form'].errors.as_json()}")
    job = TrainingJob.objects.latest("pk")
    shown = -1
    while job.state not in FINAL:
        time.sleep(2)
        job.refresh_from_db()
        if job.step != shown and job.step % 10 == 0:
            print(f"  {kind} #{job.pk}: {job.state}, step {job.step} of {job.total_steps}", flush=True)
            shown = job.step
    if job.state != "succeeded":
        raise RuntimeError(f"{kind} job #{job.pk} ended {job.state}: {job.error}\n{job.log_tail[-2000:]}")
    summary = json.loads((Path(job.directory) / "output" / "summary.json").read_text())
    return {
        "job": job.pk,
        "wall_time_s": (job.finished_at - job.started_at).total_seconds(),
        "recipe_wall_time_s": summary.get("wall_time_s"),
        "steps": summary.get("steps"),
        "config": job.config,
        "final": job.results if job.kind == "evaluate" else summary.get("final", {}),
        "job_record": job,
    }


def evaluate(admin, preset: str, overrides: dict, candidate, baseline, judge, evaluation_set) -> dict:
    result = run_job(
        admin,
        "evaluate",
        preset,
        overrides,
        base_version=candidate,
        baseline_version=baseline,
        judge_versions=[judge],
        evaluation_set=evaluation_set,
    )
    answers = Path(result["job_record"].directory) / "output" / "answers.jsonl"
    rows = [json.loads(line) for line in answers.read_text().splitlines()]
    result["samples"] = [
        {"prompt": r["prompt"][-1]["content"], "candidate": r["candidate"], "baseline": r["baseline"]} for r in rows[:4]
    ]
    return result


def _curve(job, *keys) -> list[dict]:
    return [
        {"step": m.step, **{k: m.values[k] for k in keys if k in m.values}}
        for m in job.metrics.all()
        if any(k in m.values for k in keys)
    ]


def _shown(results: dict) -> str:
    keys = (
        "win_rate",
        "win_rate_low",
        "win_rate_high",
        "length_controlled_win_rate",
        "mean_length_candidate",
        "mean_length_baseline",
        "no_eos_share_candidate",
        "reward_length_correlation",
    )
    return ", ".join(f"{k}={results[k]:.3f}" for k in keys if isinstance(results.get(k), float))


def overrides_argument(parser, kinds: str) -> None:
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KIND:KEY=VALUE",
        help=f"a hyperparameter over a job's preset, e.g. reward:epochs=1.0 (JSON values); KIND is {kinds}",
    )


def overrides_parse(items: list[str], kinds: tuple[str, ...]) -> dict[str, dict]:
    """--set's KIND:KEY=VALUE items as {kind: {key: value}}, values read as
    JSON where they are JSON."""
    overrides: dict[str, dict] = {kind: {} for kind in kinds}
    for item in items:
        kind, _, assignment = item.partition(":")
        key, _, value = assignment.partition("=")
        if kind not in overrides:
            raise SystemExit(f"--set {item}: KIND is one of {', '.join(kinds)}")
        try:
            overrides[kind][key] = json.loads(value)
        except ValueError:
            overrides[kind][key] = value
    return overrides


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hh", default=str(ROOT.parent / "shared/data/preferences_hh_harmless_train.jsonl.gz"))
    parser.add_argument("--demos", type=int, default=50)
    parser.add_argument("--preset", default="cpu-quick")
    overrides_argument(parser, "sft, reward, ppo, dpo or evaluate")
    parser.add_argument(
        "--only", choices=["sft", "reward", "ppo"], action="append", help="run these jobs only (PPO needs both others)"
    )
    parser.add_argument(
        "--evaluate",
        action="store_true",
        help="split the pairs for a judge, add DPO, and evaluate SFT, PPO and DPO (see the docstring)",
    )
    parser.add_argument("--eval-prompts", type=int, default=64)
    parser.add_argument("--out", default=str(ROOT / "bench/results/training_jobs.json"))
    args = parser.parse_args()
    overrides = overrides_parse(args.overrides, ("sft", "reward", "ppo", "dpo", "evaluate"))
    wanted = set(args.only or ["sft", "reward", "ppo"])

    workdir = Path(tempfile.mkdtemp(prefix="bench-training-jobs-"))
    queue = f"bench-training-{os.getpid()}"
    env = {
        "DATA_DIR": str(workdir),
        "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
        "TRAINING_QUEUE": queue,
        "CHANNEL_LAYER_PREFIX": "bench-training",
        "PYTHONUNBUFFERED": "1",
        "DJANGO_SETTINGS_MODULE": "chatsite.settings",
    }
    os.environ.update(env)
    import django

    django.setup()
    inputs = prepare(args.hh, args.demos, evaluate=args.evaluate, eval_prompts=args.eval_prompts, workdir=workdir)
    print(
        f"imported {args.hh} in {inputs['import_s']:.1f} s; {inputs['demonstrations']} demonstrations written",
        flush=True,
    )
    worker = start_celery_worker(dict(os.environ), workdir, queues=queue, name="bench-training", concurrency=1)
    report = {
        "machine": f"{os.cpu_count()} CPUs",
        "date": time.strftime("%Y-%m-%d"),
        "preset": args.preset,
        "model": inputs["base"].name,
        "demonstrations": inputs["demonstrations"],
        "preference_snapshot_items": inputs["preferences"].item_count,
        "jobs": {},
    }
    try:
        admin, jobs = inputs["admin"], report["jobs"]
        sft = reward = None
        if "sft" in wanted or "ppo" in wanted:
            sft = jobs["sft"] = run_job(
                admin, "sft", args.preset, overrides["sft"], base_version=inputs["base"], snapshot=inputs["demos"]
            )
        if "reward" in wanted or "ppo" in wanted:
            reward = jobs["reward"] = run_job(
                admin,
                "reward",
                args.preset,
                overrides["reward"],
                base_version=inputs["base"],
                snapshot=inputs["preferences"],
            )
            reward["eval_curve"] = _curve(reward["job_record"], "eval_accuracy", "eval_loss")
        if "ppo" in wanted:
            from registry.models import ModelVersion

            ppo = jobs["ppo"] = run_job(
                admin,
                "ppo",
                args.preset,
                overrides["ppo"],
                base_version=ModelVersion.objects.get(job_id=sft["job"]),
                reward_version=ModelVersion.objects.get(job_id=reward["job"]),
                snapshot=inputs["preferences"],
            )
            ppo["curve"] = _curve(ppo["job_record"], *PPO_CURVES)
        if args.evaluate:
            from registry.models import ModelVersion

            def version(result):
                return ModelVersion.objects.get(job_id=result["job"])

            sft_version, ppo_version = version(sft), version(jobs["ppo"])
            dpo = jobs["dpo"] = run_job(
                admin, "dpo", args.preset, overrides["dpo"], base_version=sft_version, snapshot=inputs["preferences"]
            )
            judge = jobs["judge"] = run_job(
                admin,
                "reward",
                args.preset,
                overrides["reward"],
                base_version=inputs["base"],
                snapshot=inputs["judge_data"],
            )
            judge_version, held_out = version(judge), inputs["evaluation_set"]
            comparisons = report["evaluations"] = {}
            for name, candidate, baseline in (
                ("sft_vs_bundled", sft_version, inputs["base"]),
                ("ppo_vs_sft", ppo_version, sft_version),
                ("dpo_vs_sft", version(dpo), sft_version),
                ("ppo_vs_dpo", ppo_version, version(dpo)),
            ):
                comparisons[name] = evaluate(
                    admin, args.preset, overrides["evaluate"], candidate, baseline, judge_version, held_out
                )
                print(f"  {name}: {_shown(comparisons[name]['final'])}", flush=True)
    finally:
        worker.stop()
    for result in [*report["jobs"].values(), *report.get("evaluations", {}).values()]:
        del result["job_record"]
    Path(args.out).write_text(json.dumps(report, indent=1))
    for name, result in report["jobs"].items():
        final = {k: round(v, 4) if isinstance(v, float) else v for k, v in result["final"].items()}
        print(f"{name}: {result['wall_time_s']:.1f} s, {result['steps']} steps, {final}")


if __name__ == "__main__":
    main()
