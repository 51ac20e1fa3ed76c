"""Pre-training a decoder-only transformer from scratch on a text corpus.

Data: a corpus, any UTF-8 text (training/data.py). The last
`eval_fraction` of it is held out; the training split alone trains a
byte-level BPE tokenizer (`tokenizers`) unless `tokenizer` names one.

The model is transformers' LlamaForCausalLM built from a config, so the
output loads like any other model. Reported: held-out loss (nats per token)
and bits per byte, which does not depend on the tokenizer: the summed nats
of every held-out token / ln 2 / the held-out text's UTF-8 bytes.

Sources: nanoGPT's train.py (get_batch, estimate_loss, get_lr with
warmup + cosine decay, grad clipping, fused AdamW, bf16 autocast,
torch.compile); the Llama architecture as in transformers.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import torch
import torch.nn.functional as F

from . import device as hw
from .config import ConfigError, fraction, non_negative, positive
from .data import DataError
from .distributed import all_reduce_mean, data_parallel
from .recipe_run import RecipeRun

DOC_SEPARATOR = "<|endoftext|>"


@dataclass
class PretrainRecipeConfig:
    kind: ClassVar[str] = "pretrain"
    # --- data
    output_dir: str
    corpus: str
    tokenizer: str | None = None  # a tokenizer dir; None: train byte-level BPE on the training split
    vocab_size: int = 512  # of the trained BPE (256 bytes + merges + 1 special); <= 257 is plain bytes
    eval_fraction: float = 0.1  # the corpus's last part, held out
    # --- model (Llama)
    n_layer: int = 4
    n_head: int = 4
    n_kv_head: int = 4
    d_model: int = 128
    d_ff: int = 512
    attention_dropout: float = 0.0
    dropout: float = 0.0  # on each attention and MLP branch's output while training (GPT-2's resid_pdrop)
    seq_len: int = 128
    # --- training
    batch_size: int = 32
    grad_accum: int = 1
    max_steps: int = 1000
    time_budget_s: float | None = None  # stop (and finish the LR schedule) by this wall time
    lr: float = 1e-3
    min_lr_ratio: float = 0.1
    warmup_steps: int = 50
    weight_decay: float = 0.1
    beta2: float = 0.95
    grad_clip: float = 1.0
    eval_every: int = 200
    eval_tokens: int | None = 32768  # held-out tokens per intermediate eval; the final eval reads them all
    log_every: int = 10
    compile: bool = False  # torch.compile (CUDA: worth it for runs over a minute)
    peak_tflops: float = 989.0  # per GPU, for MFU (H100 SXM dense bf16); reported on CUDA only
    device: str = "auto"
    seed: int = 0
    # --- checkpoints (training.checkpoint)
    checkpoint_every: int = 250  # steps; 0: only when stopped. Written to output_dir/checkpoint/
    resume: bool = True  # go on from output_dir/checkpoint/ when it holds one

    def check(self):
        non_negative(self, "checkpoint_every")
        positive(
            self,
            "vocab_size",
            "n_layer",
            "n_head",
            "n_kv_head",
            "d_model",
            "d_ff",
            "seq_len",
            "batch_size",
            "grad_accum",
            "max_steps",
            "lr",
            "eval_every",
            "log_every",
        )
        fraction(self, "eval_fraction", allow_zero=False)
        if self.d_model % self.n_head or self.n_head % self.n_kv_head:
            raise ConfigError("n_head: d_model must divide by n_head, and n_head by n_kv_head")
        if self.vocab_size < 257 and self.tokenizer is None:
            raise ConfigError("vocab_size: a trained byte-level tokenizer needs at least 257 (256 bytes + 1 special)")


def train_bpe(text: str, vocab_size: int):
    """A byte-level BPE tokenizer (GPT-2 style) trained on `text`."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[DOC_SEPARATOR],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(_chunks(text), trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token=DOC_SEPARATOR,
        eos_token=DOC_SEPARATOR,
        unk_token=DOC_SEPARATOR,
        pad_token=DOC_SEPARATOR,
    )


def _chunks(text: str, size: int = 1 << 16):
    for start in range(0, len(text), size):
        yield text[start : start + size]


def _encode(tokenizer, text: str) -> torch.Tensor:
    """The text's token ids after a document separator, so that every token
    of the text, the first too, is predicted (and counted in bits per byte)."""
    first = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else tokenizer.bos_token_id
    ids = [first] if first is not None else []
    for chunk in _chunks(text, 1 << 20):
        ids.extend(tokenizer(chunk, add_special_tokens=False)["input_ids"])
    return torch.tensor(ids, dtype=torch.long)


def load_corpus(config: PretrainRecipeConfig) -> tuple[str, str]:
    path = Path(config.corpus)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise DataError(f"corpus {path}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise DataError(f"corpus {path}: not UTF-8 text") from None
    split = int(len(text) * (1 - config.eval_fraction))
    if split < config.seq_len * 2 or len(text) - split < 2:
        raise DataError(f"corpus {path}: too short ({len(text)} characters) for seq_len {config.seq_len}")
    return text[:split], text[split:]


def build_model(config: PretrainRecipeConfig, vocab_size: int, tokenizer):
    from transformers import LlamaConfig, LlamaForCausalLM

    model_config = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=config.d_model,
        intermediate_size=config.d_ff,
        num_hidden_layers=config.n_layer,
        num_attention_heads=config.n_head,
        num_key_value_heads=config.n_kv_head,
        max_position_embeddings=config.seq_len,
        attention_dropout=config.attention_dropout,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        use_cache=False,
    )
    model_config._attn_implementation = "sdpa"
    model = LlamaForCausalLM(model_config)
    if config.dropout:
        add_residual_dropout(model, config.dropout)
    return model


def add_residual_dropout(model, p: float) -> None:
    """Dropout on what each attention and MLP block adds to the residual
    stream, which Llama's config has no field for. Hooks, so the saved model
    is a plain Llama (inference has no dropout anyway); they act only in
    train mode. Small corpora such as tinyshakespeare overfit without it."""

    def drop(module, inputs, output):
        return F.dropout(output, p, module.training)

    for layer in model.model.layers:
        layer.self_attn.o_proj.register_forward_hook(drop)
        layer.mlp.down_proj.register_forward_hook(drop)


def flops_per_token(config: PretrainRecipeConfig, n_params: int) -> float:
    """Training FLOPs per token (PaLM, appendix B): 6 N for the weights'
    matmuls (tied embeddings: counted once, as the output layer's matmul)
    + 12 L d T for attention."""
    return 6 * n_params + 12 * config.n_layer * config.d_model * config.seq_len


def get_lr(config: PretrainRecipeConfig, step: int, progress: float) -> float:
    """Linear warmup, then cosine decay to min_lr_ratio * lr; `progress` is
    the fraction of the run done (by steps or by the time budget)."""
    if step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    cosine = 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
    return config.lr * (config.min_lr_ratio + (1 - config.min_lr_ratio) * cosine)


def get_batch(tokens: torch.Tensor, config: PretrainRecipeConfig, generator: torch.Generator):
    """Random windows gathered where `tokens` lives (the whole corpus sits on
    the GPU: one gather per step instead of a host stack and a copy)."""
    starts = torch.randint(len(tokens) - config.seq_len - 1, (config.batch_size, 1), generator=generator)
    index = starts.to(tokens.device) + torch.arange(config.seq_len + 1, device=tokens.device)
    windows = tokens[index]
    return windows[:, :-1], windows[:, 1:]


def _loss(model, x, y, device_type: str, bf16: bool) -> torch.Tensor:
    # The autocast decision comes in as arguments: deciding it in here would
    # break torch.compile's graph (and recompile the rest at every step).
    with torch.autocast(device_type, dtype=torch.bfloat16, enabled=bf16):
        logits = model(input_ids=x).logits
    return F.cross_entropy(logits.float().view(-1, logits.size(-1)), y.reshape(-1))


def bits_per_byte(nats: float, count: int, eval_tokens: torch.Tensor, eval_bytes: int) -> float:
    """Held-out bits per byte from the nats of `count` targets: exact when
    they are all of them, else scaled by the share of targets read."""
    return nats / math.log(2) / (eval_bytes * count / (len(eval_tokens) - 1))


@torch.no_grad()
def estimate_loss(
    model, tokens: torch.Tensor, config: PretrainRecipeConfig, device: str, max_tokens: int | None = None
) -> float:
    """Summed nats over the held-out targets (in windows of seq_len, no
    overlap), and how many targets: the mean and bits per byte come from
    these."""
    model.eval()
    limit = len(tokens) - 1 if max_tokens is None else min(len(tokens) - 1, max_tokens)
    total_nats, count = 0.0, 0
    windows = [(s, min(config.seq_len, limit - s)) for s in range(0, limit, config.seq_len)]
    batch = max(1, config.batch_size)
    for i in range(0, len(windows), batch):
        group = windows[i : i + batch]
        for length in sorted({n for _, n in group}):
            same = [s for s, n in group if n == length]
            x = torch.stack([tokens[s : s + length] for s in same]).to(device)
            y = torch.stack([tokens[s + 1 : s + 1 + length] for s in same]).to(device)
            with hw.autocast(device):
                logits = model(input_ids=x).logits
            nats = F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), y.reshape(-1), reduction="sum")
            total_nats += nats.item()
            count += y.numel()
    model.train()
    return total_nats, count


class TimeBudget:
    """Training seconds against `time_budget_s`. The first step (compilation,
    first allocations) is kept out of them; checkpointed, so a resumed run
    has what was left of the budget."""

    def __init__(self, budget_s: float | None, max_steps: int):
        self.budget_s, self.max_steps = budget_s, max_steps
        self.warmup_s = 0.0
        self._before, self._started = 0.0, time.monotonic()

    def elapsed(self) -> float:
        return self._before + time.monotonic() - self._started

    def train_seconds(self) -> float:
        return self.elapsed() - self.warmup_s

    def spent(self) -> bool:
        return self.budget_s is not None and self.train_seconds() >= self.budget_s

    def progress(self, step: int) -> float:
        """The fraction of the run done, by steps or by time, whichever is further."""
        done = step / self.max_steps
        return done if self.budget_s is None else max(done, self.train_seconds() / self.budget_s)

    def expected_steps(self, step: int) -> int:
        """The step count this pace reaches within the budget: the total the
        jobs app shows progress and ETA against. (After the first step, its
        warm-up is the only pace known.)"""
        timed_steps, seconds = (step - 1, self.train_seconds()) if step > 1 else (1, self.warmup_s)
        return max(step, min(self.max_steps, round(timed_steps * self.budget_s / max(seconds, 1e-9))))

    def state_dict(self) -> dict:
        return {"elapsed_s": self.elapsed(), "warmup_s": self.warmup_s}

    def load_state_dict(self, state: dict) -> None:
        self._before, self._started, self.warmup_s = state["elapsed_s"], time.monotonic(), state["warmup_s"]


def load_tokenizer(config: PretrainRecipeConfig, train_text: str, checkpoint: Path | None):
    """The checkpoint's tokenizer when resuming (a retrained BPE need not
    come out the same), else the configured one, else a BPE trained on the
    training split."""
    from transformers import AutoTokenizer

    if checkpoint is not None:
        return AutoTokenizer.from_pretrained(checkpoint / "tokenizer")
    if config.tokenizer:
        return AutoTokenizer.from_pretrained(config.tokenizer)
    return train_bpe(train_text, config.vocab_size)


def train(config: PretrainRecipeConfig, *, progress=None) -> dict:
    with RecipeRun(config, progress=progress) as run:
        device = run.device
        train_text, eval_text = load_corpus(config)
        tokenizer = load_tokenizer(config, train_text, run.checkpoint)
        train_tokens = _encode(tokenizer, train_text)
        eval_tokens = _encode(tokenizer, eval_text)
        eval_bytes = len(eval_text.encode("utf-8"))
        train_bytes_per_token = len(train_text.encode("utf-8")) / (len(train_tokens) - 1)
        if len(train_tokens) <= config.seq_len + 1:
            raise DataError(f"corpus {config.corpus}: the training split has fewer tokens than seq_len + 1")

        model = build_model(config, len(tokenizer), tokenizer).to(device)
        n_params = sum(p.numel() for p in model.parameters())
        print(
            f"pretrain: {n_params / 1e6:.2f}M parameters, vocab {len(tokenizer)}, {len(train_tokens)} train / "
            f"{len(eval_tokens)} held-out tokens, device {device}, world {run.world_size}",
            flush=True,
        )
        optimizer = hw.adamw(
            model.parameters(), lr=config.lr, weight_decay=config.weight_decay, device=device, betas=(0.9, config.beta2)
        )
        trained = data_parallel(model, device, run.distributed)
        # Compiling the loss, not only the model, takes the logits' upcast and
        # the cross-entropy into the graph too, where a large vocabulary makes
        # them costly to leave eager.
        step_loss = torch.compile(_loss) if config.compile else _loss
        device_type, bf16 = torch.device(device).type, hw.use_bf16(device)
        train_tokens = train_tokens.to(device)
        generator = torch.Generator().manual_seed(config.seed + run.rank)
        budget = TimeBudget(config.time_budget_s, config.max_steps)
        run.track(model=model, optimizer=optimizer, tokenizer=tokenizer)
        run.track_local(generator=generator, budget=budget)
        step = run.start(config.max_steps)
        writer = run.writer
        tokens_per_step = config.batch_size * config.seq_len * config.grad_accum * run.world_size
        token_flops = flops_per_token(config, n_params)
        window_start, window_tokens, train_loss = time.monotonic(), 0, float("nan")

        def evaluate(max_tokens) -> dict:
            nats, count = estimate_loss(model, eval_tokens, config, device, max_tokens)
            return {
                "eval_loss": nats / count,
                "eval_bits_per_byte": bits_per_byte(nats, count, eval_tokens, eval_bytes),
            }

        while step < config.max_steps:
            if run.should_stop(step) or budget.spent():
                break
            lr = get_lr(config, step, budget.progress(step))
            for group in optimizer.param_groups:
                group["lr"] = lr
            total = torch.zeros((), device=device)
            for micro in range(config.grad_accum):
                x, y = get_batch(train_tokens, config, generator)
                if run.distributed:
                    trained.require_backward_grad_sync = micro == config.grad_accum - 1
                loss = step_loss(trained, x, y, device_type, bf16) / config.grad_accum
                loss.backward()
                total += loss.detach()
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            if step == 1:
                hw.synchronize(device)
                budget.warmup_s = budget.elapsed()
                window_start = time.monotonic()
            else:
                window_tokens += tokens_per_step
            if config.time_budget_s is not None:
                writer.total_steps = budget.expected_steps(step)
            logging, evaluating = step % config.log_every == 0 or step == 1, step % config.eval_every == 0
            if logging or evaluating:
                metrics = {"train_s": budget.train_seconds()}
                if logging:
                    # The loss is read (a device sync) only on logged steps.
                    train_loss = all_reduce_mean(total.item(), device)
                    metrics.update(
                        loss=train_loss,
                        bits_per_byte=train_loss / math.log(2) / train_bytes_per_token,
                        learning_rate=lr,
                    )
                    if window_tokens:
                        hw.synchronize(device)
                        tokens_per_second = window_tokens / max(time.monotonic() - window_start, 1e-9)
                        metrics["tokens_per_second"] = tokens_per_second
                        if hw.is_cuda(device):
                            peak = config.peak_tflops * 1e12 * run.world_size
                            metrics["mfu"] = tokens_per_second * token_flops / peak
                if evaluating:
                    metrics.update(evaluate(config.eval_tokens))
                writer.write(step, **metrics)
                window_start, window_tokens = time.monotonic(), 0
        if config.time_budget_s is not None and not run.stopped:
            writer.total_steps = step
        final = {
            "loss": train_loss,
            **evaluate(None),
            "parameters": n_params,
            "train_s": budget.train_seconds(),
            "warmup_s": budget.warmup_s,
        }
        writer.write(
            step, train_s=final["train_s"], eval_loss=final["eval_loss"], eval_bits_per_byte=final["eval_bits_per_byte"]
        )
        run.end(step, final, save=lambda: save_model(model, tokenizer, run.out))
    return run.summary


def save_model(model, tokenizer, out: Path) -> None:
    from transformers import GenerationConfig

    model.config.use_cache = True
    model.generation_config = GenerationConfig(
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)


if __name__ == "__main__":
    from .cli import run

    run("pretrain", PretrainRecipeConfig, train)
