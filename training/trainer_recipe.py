"""The scaffold of the recipes that run a transformers/TRL Trainer (sft,
dpo, kto): the TrainingArguments they share, the Trainer's logs as
metrics.jsonl lines, a SIGTERM ending training at the next step boundary,
and `run_trainer`, the train-evaluate-save sequence.

Checkpoints are the Trainer's own (model, optimizer, scheduler, RNG states,
data position), in output_dir/checkpoint/checkpoint-<step>/, written every
`checkpoint_every` steps and when stopped; a run whose output_dir holds one
resumes from it (`resume`), and a completed run removes them.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from transformers import TrainerCallback

from . import device as hw
from .checkpoint import CHECKPOINT, remove_checkpoint
from .config import config_dict
from .distributed import is_main_process
from .metrics import MetricsWriter, write_summary
from .models import save_pretrained
from .stop import StopSignal

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
    "kl": "kl",  # KTO's estimate of KL(policy || reference), its reference point
    "eval_kl": "eval_kl",
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
            control.should_save = True
        elif state.global_step >= state.max_steps:
            # The saved model is the result; a checkpoint of it would be removed at once.
            control.should_save = False
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


def trainer_arguments(config, device, *, has_eval: bool) -> dict:
    """The TrainingArguments the SFT, DPO and KTO recipes share, set from the
    hardware: TRL's configs default to bf16 and gradient checkpointing,
    which fail on a CPU."""
    checkpointing = hw.is_cuda(device) if config.gradient_checkpointing is None else config.gradient_checkpointing
    return dict(
        output_dir=str(Path(config.output_dir) / CHECKPOINT),
        use_cpu=not hw.is_cuda(device),
        bf16=hw.use_bf16(device),
        fp16=False,
        activation_checkpointing=checkpointing,
        num_train_epochs=config.epochs,
        max_steps=config.max_steps,
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.batch_size,
        gradient_accumulation_steps=config.grad_accum,
        learning_rate=config.lr,
        warmup_steps=config.warmup_ratio,
        lr_scheduler_type="cosine",
        logging_steps=config.logging_steps,
        eval_strategy="epoch" if has_eval else "no",
        save_strategy="steps" if config.checkpoint_every else "no",
        save_steps=max(config.checkpoint_every, 1),
        save_total_limit=1,
        report_to="none",
        seed=config.seed,
        max_length=config.max_length,
        dataloader_num_workers=0,
        disable_tqdm=True,
    )


def run_trainer(config, build_trainer, *, eval_accuracy_key: str | None, progress=None) -> dict:
    """Trains the Trainer that `build_trainer(config, callbacks=...)` makes,
    evaluates it unless it was stopped, saves the model (rank 0 only), and
    writes summary.json last, so its presence means the output is whole."""
    kind = config.kind
    started = time.monotonic()
    resume_from = last_checkpoint(config.output_dir) if config.resume else None
    resumed_from_step = int(resume_from.name.rpartition("-")[2]) if resume_from else None
    writer = MetricsWriter(
        config.output_dir,
        max(config.max_steps, 0),
        enabled=is_main_process(),
        progress=progress,
        resumed_step=resumed_from_step,
    )
    stop = StopSignal().install()
    callback = ProgressCallback(writer, stop)
    try:
        hw.seed_everything(config.seed)
        trainer = build_trainer(config, callbacks=[callback])
        trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
        stopped = callback.stopped or stop.requested
        if trainer.eval_dataset is not None and not stopped:
            metrics = trainer.evaluate()
            writer.write(
                trainer.state.global_step,
                eval_loss=metrics.get("eval_loss"),
                eval_accuracy=metrics.get(eval_accuracy_key),
            )
        if trainer.accelerator.is_main_process:
            save_pretrained(
                trainer.accelerator.unwrap_model(trainer.model), trainer.processing_class, config.output_dir
            )
            summary = write_summary(
                config.output_dir,
                kind=kind,
                stopped=stopped,
                steps=trainer.state.global_step,
                wall_time_s=time.monotonic() - started,
                final=dict(writer.last),
                config=config_dict(config),
                resumed_from_step=resumed_from_step,
            )
            if not stopped:
                remove_checkpoint(config.output_dir)
        else:
            summary = {
                "kind": kind,
                "status": "stopped" if stopped else "completed",
                "resumed_from_step": resumed_from_step,
            }
        trainer.accelerator.wait_for_everyone()
        return summary
    finally:
        stop.uninstall()


def last_checkpoint(output_dir) -> Path | None:
    """The newest complete Trainer checkpoint in output_dir/checkpoint/. The
    Trainer writes trainer_state.json after the weights, optimizer and RNG
    states, so a directory without it is one a kill cut short."""
    root = Path(output_dir) / CHECKPOINT
    steps = [
        (int(match.group(1)), path)
        for path in root.glob("checkpoint-*")
        if (match := re.fullmatch(r"checkpoint-(\d+)", path.name)) and (path / "trainer_state.json").is_file()
    ]
    return max(steps)[1] if steps else None
