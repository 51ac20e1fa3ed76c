"""Progress and stopping for the recipes that run a transformers/TRL
Trainer (sft, dpo): the Trainer's logs become metrics.jsonl lines, and a
SIGTERM ends training at the next step boundary."""
from __future__ import annotations

import time

from transformers import TrainerCallback

from .metrics import MetricsWriter, StopSignal

# Trainer log keys -> the contract's metric names. A later key wins: DPO
# logs both token accuracy and preference accuracy, and the latter is its
# accuracy.
_RENAMES = {
    "loss": "loss",
    "eval_loss": "eval_loss",
    "learning_rate": "learning_rate",
    "mean_token_accuracy": "accuracy",
    "eval_mean_token_accuracy": "eval_accuracy",
    "rewards/accuracies": "accuracy",
    "eval_rewards/accuracies": "eval_accuracy",
    "entropy": "entropy",
}


class ProgressCallback(TrainerCallback):
    def __init__(self, writer: MetricsWriter, stop: StopSignal):
        self.writer = writer
        self.stop = stop
        self._tokens = None  # (num_tokens, time) at the previous log
        self.stopped = False

    def on_train_begin(self, args, state, control, **kwargs):
        self.writer.total_steps = state.max_steps

    def on_step_end(self, args, state, control, **kwargs):
        if self.stop.requested:
            self.stopped = True
            control.should_training_stop = True
        return control

    def on_log(self, args, state, control, logs=None, **kwargs):
        logs = logs or {}
        metrics = {name: logs[key] for key, name in _RENAMES.items() if key in logs}
        tokens = logs.get("num_tokens")
        if tokens is not None:
            now = time.monotonic()
            if self._tokens is not None and now > self._tokens[1]:
                metrics["tokens_per_second"] = (tokens - self._tokens[0]) / (now - self._tokens[1])
            self._tokens = (tokens, now)
        for key, value in logs.items():
            if key.startswith(("rewards/", "eval_rewards/", "logps/")) and key not in _RENAMES:
                metrics[key.replace("/", "_")] = value
        if metrics and state.is_world_process_zero:
            self.writer.write(state.global_step, **metrics)
        elif metrics:
            self.writer.last.update(metrics)
