"""Active routing measured: from the same number of rankings, does the
order the app asks for them in (labeling.routing) train a better reward
model than random order?

    python bench/flywheel_routing.py [--arms active,random,off] [--repeats 1]
                                     [--prompts 100] [--eval-prompts 40] [--k 4]
                                     [--annotations 150] [--warmup 0.3]
                                     [--set reward:epochs=2 ...]
                                     [--out bench/results/flywheel_routing.json]
    python bench/flywheel_routing.py --pool RUN.json RUN.json ... --out POOLED.json

On the flywheel's harness (bench/flywheel.py: a throw-away app, its
prompts and simulated annotators, the hidden preference they follow), one
shared start, then every arm from the same saved state, so the arms differ
only in the order of the rankings they spend:

1. K candidates for the loop's prompts and for the held-out prompts, by the
   generation worker. The held-out prompts' ranking tasks are taken out at
   once (no annotator sees them): their candidates are the test set, drawn
   as the training items are.
2. Warm-up: --warmup of the --annotations rankings in the app's order
   without routing (closest to done), so items complete; a seed reward
   model trained on them (its test accuracy is where every arm starts)
   is registered as the routing model
   (LABELING_ROUTING_REWARD_MODEL) and the generation worker scores every
   open task's margin with it (the app's own Celery task).
3. The database is saved (SQLite's backup API).

Each arm restores it and spends the rest of the rankings through the app's
task_assign_next: routed with its random share (active), all at random
(random: LABELING_ROUTING_RANDOM_SHARE 1) or closest to done (off:
LABELING_ROUTING false). Then a preference snapshot of the finished items,
a reward model on it, and that model's pairwise accuracy on

- held-out candidate pairs: every pair of a held-out prompt's candidates,
  its order against the hidden model's (the taste the annotators followed);
- held-out HH pairs: the HH pairs of the held-out prompts, against the
  hidden model's choice and against HH's own label (fewer pairs, and from
  other models' answers than the ones ranked).

Only items with all their rankings enter a snapshot. Every order the app
asks in finishes started items first (labeling.routing), so the arms
finish about as many items and differ in which ones they start: by the
seed model's margin and the disagreement so far (active), at random
(random), or the oldest first (off). --repeats runs every arm again from
the saved state with other annotator noise and other random picks. The summary gives
each arm's accuracy and, against active, the difference with a 95%
bootstrap interval over held-out prompts (the pairs of one prompt are not
independent). JSON in bench/results/flywheel_routing.json, rewritten after
each arm so a cut-short run keeps what it measured. Repeats share one
start (its candidates, warm-up and seed model); --pool compares finished
runs from other seeds together, each run's prompts resampled apart.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.flywheel import annotate, common_parser, generate_candidates, harness, job_overrides  # noqa: E402
from bench.training_jobs import run_job  # noqa: E402

ARMS = ("active", "random", "off")
# The name the seed reward model is registered under for routing, so the
# hidden model, also a reward model, never routes.
ROUTING_MODEL = "flywheel-routing-reward"
SCORE_BATCH = 32
BOOTSTRAP_SAMPLES = 2000


# --- Scoring ------------------------------------------------------------------


def judge_scores(path: str, prompts: list, answers: list[str]) -> list[float]:
    """A reward model's score of each answer, in batches."""
    import torch

    from training.reward import RewardJudge

    judge = RewardJudge.load(path, "cpu")
    scores: list[float] = []
    with torch.no_grad():
        for start in range(0, len(answers), SCORE_BATCH):
            end = start + SCORE_BATCH
            scores.extend(judge.score(prompts[start:end], answers[start:end]).tolist())
    return scores


def candidate_sets_take_out(prompt_ids: list[int]) -> list[tuple[list, list[str]]]:
    """The held-out prompts' generated candidates as (messages, texts), their
    ranking tasks deleted so that no annotator ever gets them."""
    from labeling.models import Task

    tasks = Task.objects.filter(prompt_id__in=prompt_ids, kind=Task.Kind.RANKING, generation__isnull=False)
    sets = []
    for task in tasks.select_related("prompt").order_by("id"):
        links = task.task_candidates.select_related("candidate").order_by("candidate_id")
        sets.append((task.prompt.messages, [link.candidate.text for link in links]))
    tasks.delete()
    return sets


def scores_by_set(path: str, sets: list[tuple[list, list[str]]]) -> list[list[float]]:
    flat = judge_scores(path, [m for m, texts in sets for _ in texts], [t for _, texts in sets for t in texts])
    out, at = [], 0
    for _, texts in sets:
        out.append(flat[at : at + len(texts)])
        at += len(texts)
    return out


def candidate_pair_accuracy(path: str, sets, hidden: list[list[float]]) -> dict:
    """Per held-out prompt, how many of its candidate pairs (those the hidden
    model does not tie) the reward model orders as the hidden model does."""
    model = scores_by_set(path, sets)
    per_prompt = []
    for mine, truth in zip(model, hidden, strict=True):
        right = total = 0
        for i in range(len(truth)):
            for j in range(i + 1, len(truth)):
                if truth[i] != truth[j]:
                    total += 1
                    right += (mine[i] - mine[j] > 0) == (truth[i] - truth[j] > 0)
        per_prompt.append([right, total])
    right, total = (sum(column) for column in zip(*per_prompt, strict=True))
    return {"pairs": total, "accuracy": round(right / total, 4) if total else None, "per_prompt": per_prompt}


def hh_pair_accuracy(path: str, hidden_path: str, prompt_ids: list[int]) -> dict:
    """Pairwise accuracy on the HH pairs of the held-out prompts: against the
    hidden model's choice and against HH's label."""
    from labeling.models import Consensus, Task

    tasks = Task.objects.filter(prompt_id__in=prompt_ids, consensus__method=Consensus.Method.IMPORTED)
    pairs = []
    for task in tasks.select_related("prompt", "consensus").order_by("id"):
        texts = {link.candidate_id: link.candidate.text for link in task.task_candidates.select_related("candidate")}
        groups = task.consensus.groups
        if len(groups) >= 2:
            pairs.append((task.prompt.messages, texts[groups[0][0]], texts[groups[-1][0]]))
    if not pairs:
        return {"pairs": 0}
    prompts = [p for p, _, _ in pairs for _ in (0, 1)]
    answers = [a for _, chosen, rejected in pairs for a in (chosen, rejected)]
    diffs = {}
    for name, model in (("model", path), ("hidden", hidden_path)):
        scores = judge_scores(model, prompts, answers)
        diffs[name] = [scores[i] - scores[i + 1] for i in range(0, len(scores), 2)]
    agree = [(m > 0) == (h > 0) for m, h in zip(diffs["model"], diffs["hidden"], strict=True)]
    return {
        "pairs": len(pairs),
        "accuracy_vs_hidden": round(sum(agree) / len(agree), 4),
        "accuracy_vs_hh_label": round(sum(m > 0 for m in diffs["model"]) / len(pairs), 4),
    }


# --- The shared start -----------------------------------------------------------


def margins_wait(timeout: float) -> int:
    """Asks the app to score the open tasks with the routing model (the
    generation worker runs it) and waits until none is left unscored."""
    import time

    from labeling.routing import reward_margins_request, reward_margins_stale

    stale = reward_margins_stale()
    reward_margins_request(task_ids=stale)
    deadline = time.monotonic() + timeout
    while left := reward_margins_stale():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(left)} tasks still unscored after {timeout:.0f} s")
        time.sleep(2)
    return len(stale)


def shared_start(args, inputs: dict, stages) -> dict:
    """Candidates, the test set taken out, the warm-up, the seed reward
    model and the margins it gives: everything the arms share."""
    from django.conf import settings

    from labeling.datasets import snapshot_create
    from labeling.models import DatasetSnapshot
    from registry.models import ModelVersion
    from registry.selectors import serving_model_version

    admin, start = inputs["admin"], serving_model_version()
    prompt_ids = inputs["round_prompts"][0] + inputs["held_out_ids"]
    generated = stages.run(
        "candidates",
        lambda: generate_candidates(args, admin, prompt_ids, start),
    )
    tests = candidate_sets_take_out(inputs["held_out_ids"])
    hidden_scores = stages.run("hidden scores of the test set", lambda: scores_by_set(inputs["hidden"].path, tests))
    training_tasks = generated["tasks"] - len(tests)
    budget = args.annotations or training_tasks * args.annotators // 2
    # Whole items (each annotator once), since only finished items make
    # the seed's snapshot.
    warm = max(args.annotators, round(budget * args.warmup / args.annotators) * args.annotators)
    settings.LABELING_ROUTING = False
    warmup = stages.run(
        "warm-up annotation (closest to done)",
        lambda: annotate(inputs["hidden"].path, inputs["annotators"], args.noise, args.seed, budget=warm),
    )
    seed_data = snapshot_create(
        name="routing-warmup", kind=DatasetSnapshot.Kind.PREFERENCE, filters={"min_agreement": 0.0}
    )
    seed = stages.run(
        "seed reward model",
        lambda: run_job(
            admin, "reward", "cpu-quick", args.job_overrides["reward"], base_version=start, snapshot=seed_data
        ),
    )
    seed.pop("job_record", None)
    ModelVersion.objects.filter(job_id=seed["job"]).update(name=ROUTING_MODEL)
    seed_path = ModelVersion.objects.get(job_id=seed["job"]).path
    # Where every arm starts: what its rankings add is measured from here.
    seed["candidate_pairs"] = stages.run(
        "seed: candidate pairs", lambda: candidate_pair_accuracy(seed_path, tests, hidden_scores)
    )
    seed["candidate_pairs"].pop("per_prompt")
    settings.LABELING_ROUTING = True  # scoring is asked for only with routing on; every arm starts from it
    scored = stages.run("margins", lambda: margins_wait(args.generation_timeout))
    return {
        "start_version": start.name,
        "candidates": generated,
        "training_tasks": training_tasks,
        "test_set": {"prompts": len(tests), "candidates": sum(len(texts) for _, texts in tests)},
        "budget": budget,
        "warmup": warmup,
        "warmup_items": seed_data.item_count,
        "seed_reward": seed,
        "margins_scored": scored,
        "tests": tests,
        "hidden_scores": hidden_scores,
    }


# --- Saving and restoring the shared state ---------------------------------------


def _database_path() -> str:
    from django.conf import settings

    return settings.DATABASES["default"]["NAME"]


def _copy(source: str, target: str) -> None:
    from django.db import connections

    connections.close_all()
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)


def state_save(path: Path) -> None:
    _copy(_database_path(), str(path))


def state_restore(path: Path, id_offset: int) -> None:
    """The saved database back in place (through SQLite's backup API, so the
    workers' open connections read it), its id sequences moved on by
    `id_offset` so that no two arms' jobs or snapshots share an id (a job's
    folder is named by it)."""
    _copy(str(path), _database_path())
    with sqlite3.connect(_database_path()) as db:
        db.execute("UPDATE sqlite_sequence SET seq = seq + ?", (id_offset,))


# --- One arm --------------------------------------------------------------------


def arm_run(args, arm: str, repeat: int, inputs: dict, shared: dict, stages) -> dict:
    from django.conf import settings

    from labeling.datasets import snapshot_create
    from labeling.models import DatasetSnapshot
    from registry.models import ModelVersion
    from registry.selectors import serving_model_version

    settings.LABELING_ROUTING = arm != "off"
    settings.LABELING_ROUTING_RANDOM_SHARE = args.random_share if arm == "active" else 1.0
    label = f"{arm} (repeat {repeat})"
    left = shared["budget"] - shared["warmup"]["rankings"]
    routed = stages.run(
        f"{label}: annotation",
        lambda: annotate(inputs["hidden"].path, inputs["annotators"], args.noise, args.seed + 1 + repeat, budget=left),
    )
    data = snapshot_create(
        name=f"routing-{arm}-{repeat}", kind=DatasetSnapshot.Kind.PREFERENCE, filters={"min_agreement": 0.0}
    )
    reward = stages.run(
        f"{label}: reward model",
        lambda: run_job(
            inputs["admin"],
            "reward",
            "cpu-quick",
            args.job_overrides["reward"],
            base_version=serving_model_version(),
            snapshot=data,
        ),
    )
    reward.pop("job_record", None)
    path = ModelVersion.objects.get(job_id=reward["job"]).path
    candidate_pairs = stages.run(
        f"{label}: candidate pairs",
        lambda: candidate_pair_accuracy(path, shared["tests"], shared["hidden_scores"]),
    )
    hh_pairs = stages.run(
        f"{label}: HH pairs", lambda: hh_pair_accuracy(path, inputs["hidden"].path, inputs["held_out_ids"])
    )
    print(f"{label}: candidate pairs {candidate_pairs['accuracy']}, HH pairs {hh_pairs}", flush=True)
    return {
        "routing": settings.LABELING_ROUTING,
        "random_share": settings.LABELING_ROUTING_RANDOM_SHARE if settings.LABELING_ROUTING else None,
        "annotation": routed,
        "snapshot_items": data.item_count,
        "reward": reward,
        "candidate_pairs": candidate_pairs,
        "hh_pairs": hh_pairs,
    }


# --- The comparison -------------------------------------------------------------


def _pooled(runs: list[dict]) -> list[list[int]]:
    """Right and total per held-out prompt, summed over an arm's repeats."""
    rows = [run["candidate_pairs"]["per_prompt"] for run in runs]
    return [[sum(row[i][0] for row in rows), sum(row[i][1] for row in rows)] for i in range(len(rows[0]))]


def comparison(runs: list[dict[str, list[dict]]], seed: int) -> dict:
    """Each arm's accuracies over its repeats and, against active, the
    difference in candidate-pair accuracy with a 95% bootstrap interval,
    resampling held-out prompts. `runs` holds one bench run's results per
    entry (--pool: several, each from its own seed and shared start); the
    bootstrap resamples each run's prompts apart, as they were drawn."""
    arms = [arm for arm in runs[0] if all(arm in results for results in runs)]
    pooled = {arm: [_pooled(results[arm]) for results in runs] for arm in arms}
    out: dict = {"arms": {}}
    for arm in arms:
        rows = [row for stratum in pooled[arm] for row in stratum]
        out["arms"][arm] = {
            "repeats": sum(len(results[arm]) for results in runs),
            "snapshot_items": [run["snapshot_items"] for results in runs for run in results[arm]],
            "candidate_pair_accuracy": round(sum(r for r, _ in rows) / sum(t for _, t in rows), 4),
            "hh_accuracy_vs_hidden": [
                run["hh_pairs"].get("accuracy_vs_hidden") for results in runs for run in results[arm]
            ],
        }
    if "active" not in arms:
        return out
    rng = random.Random(seed)
    for arm in arms:
        if arm == "active":
            continue
        diffs = []
        for _ in range(BOOTSTRAP_SAMPLES):
            picks = [
                (active[i], other[i])
                for active, other in zip(pooled["active"], pooled[arm], strict=True)
                for i in [rng.randrange(len(active)) for _ in active]
            ]
            mine = sum(a[0] for a, _ in picks) / max(1, sum(a[1] for a, _ in picks))
            theirs = sum(o[0] for _, o in picks) / max(1, sum(o[1] for _, o in picks))
            diffs.append(mine - theirs)
        diffs.sort()
        point = out["arms"]["active"]["candidate_pair_accuracy"] - out["arms"][arm]["candidate_pair_accuracy"]
        out[f"active_minus_{arm}"] = {
            "difference": round(point, 4),
            "interval_95": [
                round(diffs[int(0.025 * len(diffs))], 4),
                round(diffs[int(0.975 * len(diffs)) - 1], 4),
            ],
        }
    return out


def pool(paths: list[str], seed: int, out: Path) -> None:
    """--pool: one comparison over finished runs (other seeds, other
    shared starts), written to --out with where each run came from."""
    reports = [json.loads(Path(path).read_text()) for path in paths]
    report = {
        "pooled": [
            {"file": path, "settings": r["settings"], "comparison": r["comparison"]}
            for path, r in zip(paths, reports, strict=True)
        ],
        "comparison": comparison([r["results"] for r in reports], seed),
    }
    out.write_text(json.dumps(report, indent=1))
    print(json.dumps(report["comparison"], indent=1))


def main():
    parser = common_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--arms", default=",".join(ARMS), help="comma-separated, of active, random, off")
    parser.add_argument("--repeats", type=int, default=1, help="runs of every arm from the saved state")
    parser.add_argument("--annotations", type=int, default=0, help="rankings to spend (0: half the places)")
    parser.add_argument("--warmup", type=float, default=0.3, help="share of them spent closest-to-done first")
    parser.add_argument("--random-share", type=float, default=0.2, help="active's LABELING_ROUTING_RANDOM_SHARE")
    parser.add_argument("--out", default=str(ROOT / "bench/results/flywheel_routing.json"))
    parser.add_argument("--pool", nargs="+", metavar="JSON", help="compare these finished runs together; run nothing")
    args = parser.parse_args()
    if args.pool:
        pool(args.pool, args.seed, Path(args.out))
        return
    arms = args.arms.split(",")
    if not arms or not set(arms) <= set(ARMS):
        parser.error(f"--arms takes a comma-separated list of {', '.join(ARMS)}")
    args.rounds = 1
    args.job_overrides = job_overrides(args)
    os.environ["LABELING_ROUTING_REWARD_MODEL"] = ROUTING_MODEL
    out = Path(args.out)
    with harness(args, "routing") as (inputs, stages, report):
        shared = shared_start(args, inputs, stages)
        saved = inputs["workdir"] / "after-warmup.sqlite3"
        state_save(saved)
        results: dict[str, list[dict]] = {arm: [] for arm in arms}
        report["shared"] = {k: v for k, v in shared.items() if k not in ("tests", "hidden_scores")}
        for repeat in range(args.repeats):
            for number, arm in enumerate(arms):
                state_restore(saved, id_offset=1000 * (1 + repeat * len(arms) + number))
                results[arm].append(arm_run(args, arm, repeat, inputs, shared, stages))
                report["results"] = results
                report["comparison"] = comparison([{a: r for a, r in results.items() if r}], args.seed)
                report["stage_seconds"] = stages.times
                out.write_text(json.dumps(report, indent=1, default=str))
    out.write_text(json.dumps(report, indent=1, default=str))
    print(json.dumps(report["comparison"], indent=1))


if __name__ == "__main__":
    main()
