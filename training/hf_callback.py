"""Progress and stopping for the recipes that run a transformers/TRL
Trainer (sft, dpo): the Trainer's logs become metrics.jsonl lines, a
SIGTERM ends training at the next step boundary, and `run_trainer` is the
train-evaluate-save sequence both recipes share."""
from __future__ import annotations

import tempfile
import time

from transformers import TrainerCallback

from . import device as hw
from .config import config_dict
from .metrics import MetricsWriter, StopSignal, write_summary
from .models import save_pretrained

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


def trainer_arguments(config, device, *, has_eval: bool) -> dict:
    """The TrainingArguments the SFT and DPO recipes share, set from the
    hardware: TRL's configs default to bf16 and gradient checkpointing,
    which fail on a CPU."""
    checkpointing = hw.is_cuda(device) if config.gradient_checkpointing is None else config.gradient_checkpointing
    return dict(
        output_dir=tempfile.mkdtemp(prefix=f"{config.kind}-trainer-"),
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
        save_strategy="no",
        report_to="none",
        seed=config.seed,
        max_length=config.max_length,
        dataloader_num_workers=0,
        disable_tqdm=True,
    )


def run_trainer(config, build_trainer, *, eval_accuracy_key: str, progress=None) -> dict:
    """Trains the Trainer that `build_trainer(config, callbacks=...)` makes,
    evaluates it unless it was stopped, saves the model (rank 0 only), and
    writes summary.json last, so its presence means the output is whole."""
    kind = config.kind
    started = time.monotonic()
    writer = MetricsWriter(config.output_dir, max(config.max_steps, 0), enabled=hw.is_main_process(),
                           progress=progress)
    stop = StopSignal().install()
    callback = ProgressCallback(writer, stop)
    try:
        hw.seed_everything(config.seed)
        trainer = build_trainer(config, callbacks=[callback])
        trainer.train()
        stopped = callback.stopped or stop.requested
        if trainer.eval_dataset is not None and not stopped:
            metrics = trainer.evaluate()
            writer.write(trainer.state.global_step, eval_loss=metrics.get("eval_loss"),
                         eval_accuracy=metrics.get(eval_accuracy_key))
        if trainer.accelerator.is_main_process:
            save_pretrained(trainer.accelerator.unwrap_model(trainer.model), trainer.processing_class,
                            config.output_dir)
            summary = write_summary(config.output_dir, kind=kind, stopped=stopped, steps=trainer.state.global_step,
                                    wall_time_s=time.monotonic() - started, final=dict(writer.last),
                                    config=config_dict(config))
        else:
            summary = {"kind": kind, "status": "stopped" if stopped else "completed"}
        trainer.accelerator.wait_for_everyone()
        return summary
    finally:
        stop.uninstall()
