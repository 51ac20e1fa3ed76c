"""Is a candidate policy better than a baseline? Both answer the same
held-out prompts; reward models judge each pair.

What it reports (summary.json's "final"; every answer in answers.jsonl):
- win_rate: the share of prompts whose candidate answer the judges score
  above the baseline's (the mean of the judges' standard-unit differences;
  a tie counts half), with a 95% bootstrap interval over prompts
  (win_rate_low, win_rate_high), and per judge (win_rate_judge_<i>).
- Length control: reward models often pay for length, so a win can be a
  longer answer and nothing more. length_controlled_win_rate is the win
  rate among pairs whose lengths are within `length_tolerance` of each
  other (similar_length_pairs of them), and reward_length_correlation the
  judges' Pearson r between score and answer length.
- mean_length_{candidate,baseline} (tokens) and no_eos_share_{...}: the
  share of answers that reach max_new_tokens without ending.
- With `text_file`: held-out bits_per_byte_{candidate,baseline}, per byte
  so that models with different tokenizers compare.
- With `red_team_file`: both models' answers to the red-team prompts in
  red_team_answers.jsonl; the app runs output moderation over them (this
  package has no Django) and reports the share flagged.

The judges should be reward models the candidate never trained against: a
policy optimised against a reward model wins by its measure whether or not
it is better.

Answers are sampled (temperature, top_p: what the chat serves with) with
one seed for both models, so a rerun gives the same answers.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass, field
from typing import ClassVar

import torch

from .config import ConfigError, non_negative, positive
from .data import DataError, load_prompts
from .models import check_model_dir, weights_dtype
from .ppo import encode_prompts, left_pad
from .ppo_math import correlation, response_mask
from .recipe_run import RecipeRun


@dataclass
class EvaluateRecipeConfig:
    kind: ClassVar[str] = "evaluate"
    output_dir: str
    candidate_model: str
    baseline_model: str
    prompts_file: str
    judges: list[str] = field(default_factory=list)  # reward model directories
    red_team_file: str | None = None  # prompts; both models' answers go to red_team_answers.jsonl
    text_file: str | None = None  # held-out text: bits per byte of both models
    max_prompt_length: int = 512
    max_new_tokens: int = 128
    temperature: float = 0.7
    top_p: float = 0.9
    batch_size: int = 8
    length_tolerance: float = 0.2  # "similar length": within 20% of the longer answer
    bootstrap_samples: int = 2000
    text_max_bytes: int = 200_000
    text_window: int = 512
    device: str = "auto"
    seed: int = 0
    # RecipeRun's: an evaluation is not checkpointed; stopped, it starts again.
    checkpoint_every: int = 0
    resume: bool = False

    def check(self):
        non_negative(self, "checkpoint_every")
        positive(
            self,
            "max_prompt_length",
            "max_new_tokens",
            "temperature",
            "top_p",
            "batch_size",
            "bootstrap_samples",
            "text_max_bytes",
            "text_window",
        )
        if not self.judges:
            raise ConfigError("judges: give at least one reward model")
        if not 0 <= self.length_tolerance < 1:
            raise ConfigError("length_tolerance: must be in [0, 1)")


def load_policy(model_dir: str, device: str):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    check_model_dir(model_dir)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    if tokenizer.eos_token_id is None:
        raise DataError(f"model {model_dir}: the tokenizer has no EOS token")
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token  # prompts are left-padded and masked
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=weights_dtype(device, trained=False))
    return tokenizer, model.to(device).eval()


@torch.no_grad()
def answer(tokenizer, model, prompts: list[list[dict]], config: EvaluateRecipeConfig, device: str, seed: int):
    """[(text, tokens, ended)] for each prompt, sampled from `seed`."""
    ids, mask = left_pad(encode_prompts(tokenizer, prompts, config.max_prompt_length), tokenizer.pad_token_id, device)
    torch.manual_seed(seed)
    sequences = model.generate(
        input_ids=ids,
        attention_mask=mask,
        do_sample=True,
        temperature=config.temperature,
        top_p=config.top_p,
        top_k=0,
        max_new_tokens=config.max_new_tokens,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    responses = sequences[:, ids.shape[1] :]
    response_tokens, ended = response_mask(responses, tokenizer.eos_token_id)
    out = []
    for row, row_mask, row_ended in zip(responses, response_tokens, ended.tolist(), strict=True):
        kept = row[row_mask.bool()]
        # The EOS that ends an answer is not part of its length.
        out.append((tokenizer.decode(kept, skip_special_tokens=True), len(kept) - int(row_ended), row_ended))
    return out


def win(difference: float) -> float:
    return 1.0 if difference > 0 else 0.5 if difference == 0 else 0.0


def bootstrap_interval(outcomes: list[float], samples: int, seed: int) -> tuple[float, float]:
    """The 95% percentile interval of the mean of `outcomes`, resampling
    prompts with replacement."""
    if not outcomes:
        return (math.nan, math.nan)
    rng = random.Random(seed)
    n = len(outcomes)
    means = sorted(sum(outcomes[rng.randrange(n)] for _ in range(n)) / n for _ in range(samples))
    return means[int(0.025 * (samples - 1))], means[int(0.975 * (samples - 1))]


def similar_length(a: int, b: int, tolerance: float) -> bool:
    return abs(a - b) <= tolerance * max(a, b, 1)


@torch.no_grad()
def bits_per_byte(tokenizer, model, text: str, window: int, device: str) -> float:
    """Held-out nats per byte of `text` over ln 2, read in windows of
    `window` tokens, each but the first starting from the previous one's
    last token."""
    ids = tokenizer(text, add_special_tokens=False, return_tensors="pt")["input_ids"][0]
    nats = 0.0
    for start in range(0, max(len(ids) - 1, 1), window):
        chunk = ids[start : start + window + 1].unsqueeze(0).to(device)
        if chunk.shape[1] < 2:
            break
        logits = model(input_ids=chunk[:, :-1]).logits.float()
        nats += torch.nn.functional.cross_entropy(logits[0], chunk[0, 1:], reduction="sum").item()
    return nats / math.log(2) / len(text.encode("utf-8"))


def summarise(rows: list[dict], judges: int, config: EvaluateRecipeConfig) -> dict:
    """The metrics of the module docstring from the per-prompt rows."""
    outcomes = [win(row["difference"]) for row in rows]
    low, high = bootstrap_interval(outcomes, config.bootstrap_samples, config.seed)
    similar = [
        win(row["difference"])
        for row in rows
        if similar_length(row["candidate_tokens"], row["baseline_tokens"], config.length_tolerance)
    ]
    similar_low, similar_high = bootstrap_interval(similar, config.bootstrap_samples, config.seed)
    correlations = []
    for judge in range(judges):
        scores = [row[f"{side}_scores"][judge] for row in rows for side in ("candidate", "baseline")]
        lengths = [row[f"{side}_tokens"] for row in rows for side in ("candidate", "baseline")]
        correlations.append(correlation(torch.tensor(scores), torch.tensor(lengths, dtype=torch.float)))
    n = len(rows)
    final = {
        "prompts": n,
        "win_rate": sum(outcomes) / n,
        "win_rate_low": low,
        "win_rate_high": high,
        "similar_length_pairs": len(similar),
        "length_controlled_win_rate": sum(similar) / len(similar) if similar else None,
        "length_controlled_win_rate_low": similar_low if similar else None,
        "length_controlled_win_rate_high": similar_high if similar else None,
        "reward_length_correlation": sum(correlations) / judges,
    }
    for judge in range(judges):
        final[f"win_rate_judge_{judge}"] = (
            sum(win(r["candidate_scores"][judge] - r["baseline_scores"][judge]) for r in rows) / n
        )
    for side in ("candidate", "baseline"):
        final[f"mean_length_{side}"] = sum(r[f"{side}_tokens"] for r in rows) / n
        final[f"no_eos_share_{side}"] = sum(not r[f"{side}_ended"] for r in rows) / n
    return final


def train(config: EvaluateRecipeConfig, *, progress=None) -> dict:
    """The recipe entry point (the name every recipe has): evaluates, and
    writes answers.jsonl, red_team_answers.jsonl and summary.json."""
    from .reward import RewardJudge

    with RecipeRun(config, progress=progress) as run:
        device = run.device
        prompts = load_prompts(config.prompts_file)
        red_team = load_prompts(config.red_team_file) if config.red_team_file else []
        text = None
        if config.text_file:
            with open(config.text_file, encoding="utf-8") as stream:
                text = stream.read(config.text_max_bytes)
        models = {
            side: load_policy(path, device)
            for side, path in (("candidate", config.candidate_model), ("baseline", config.baseline_model))
        }
        judges = [RewardJudge.load(path, device) for path in config.judges]
        batches = [prompts[i : i + config.batch_size] for i in range(0, len(prompts), config.batch_size)]
        red_batches = [red_team[i : i + config.batch_size] for i in range(0, len(red_team), config.batch_size)]
        total = len(batches) + len(red_batches) + (1 if text else 0)
        step = run.start(total)
        rows: list[dict] = []
        for index, batch in enumerate(batches):
            if run.should_stop(step):
                break
            answers = {side: answer(*models[side], batch, config, device, config.seed + index) for side in models}
            scores = {
                side: torch.stack([judge.score(batch, [a[0] for a in answers[side]]) for judge in judges], dim=1)
                for side in models
            }
            for row, prompt in enumerate(batch):
                record = {"prompt": prompt}
                for side in models:
                    text_, tokens, ended = answers[side][row]
                    record |= {
                        side: text_,
                        f"{side}_tokens": tokens,
                        f"{side}_ended": ended,
                        f"{side}_scores": scores[side][row].tolist(),
                    }
                record["difference"] = sum(
                    c - b for c, b in zip(record["candidate_scores"], record["baseline_scores"], strict=True)
                ) / len(judges)
                rows.append(record)
            step += 1
            run.writer.write(step, win_rate=sum(win(r["difference"]) for r in rows) / len(rows))
        red_rows: list[dict] = []
        for index, batch in enumerate(red_batches):
            if run.stopped or run.should_stop(step):
                break
            answers = {side: answer(*models[side], batch, config, device, config.seed + index) for side in models}
            red_rows += [
                {"prompt": prompt, **{side: answers[side][row][0] for side in models}}
                for row, prompt in enumerate(batch)
            ]
            step += 1
            run.writer.write(step, red_team_answers=len(red_rows))
        final = summarise(rows, len(judges), config) if rows else {}
        if text and not run.stopped and not run.should_stop(step):
            for side, (tokenizer, model) in models.items():
                final[f"bits_per_byte_{side}"] = bits_per_byte(tokenizer, model, text, config.text_window, device)
            step += 1
            run.writer.write(step, **{k: v for k, v in final.items() if k.startswith("bits_per_byte")})
        if final:
            run.writer.write(step, **final)

        def save():
            with open(run.out / "answers.jsonl", "w", encoding="utf-8") as stream:
                stream.writelines(json.dumps(row) + "\n" for row in rows)
            with open(run.out / "red_team_answers.jsonl", "w", encoding="utf-8") as stream:
                stream.writelines(json.dumps(row) + "\n" for row in red_rows)

        run.end(step, final, save=save)
    return run.summary


if __name__ == "__main__":
    from .cli import run

    run("evaluate", EvaluateRecipeConfig, train)
