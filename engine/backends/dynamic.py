"""Iteration-level batching on the model's own forward: concurrent
conversations share every decoding step, on a CPU as on a GPU.

One scheduler thread per backend owns the model. Requests wait in a queue;
between two decoding steps the scheduler prefills the new ones (one forward
each, so a prompt is never padded) and merges their keys and values into the
running batch, left-padded to a common length. Each step is then ONE forward
over every active conversation: the last token of each row, an attention
mask that hides each row's padding, and position ids that count each row's
own tokens, so a row computes what it would alone. Finished and cancelled
rows leave the batch before the next step, so a stopped conversation frees
its slot at once.

Transformers' continuous batching (`batched.py`: a paged cache and a
scheduler built for GPUs) spends more per step in Python than a 2-core CPU
gains from batching; this keeps the per-step work to one forward and a few
small tensors. Full-attention models (the Llama family) only: the batch
cache has no sliding window.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from transformers.cache_utils import Cache, DynamicCache, DynamicLayer

from .base import ChatMessages, GenerationStream, SamplingParams, releasable_end
from .local import LocalBackend
from .shutdown import close_at_exit, exiting, start_model_thread

_POLL_SECONDS = 0.05
# Spare cache columns allocated with the batch, so most steps write in place.
_SPARE_COLUMNS = 128
# Prompt tokens prefilled between two decoding steps (at least one prompt):
# a burst of long prompts does not stall the running answers for long.
_PREFILL_TOKENS_PER_STEP = 2048
# An idle scheduler thread ends after this long; the next request starts it again.
_IDLE_SECONDS = 30.0
_ENGINE_SHUT_DOWN = "The generation engine shut down (the process is exiting)."


@dataclass(frozen=True)
class _End:
    """The last item of a request's event queue."""

    reason: str  # stop, length, or error
    error: BaseException | None = None


@dataclass(eq=False)
class _Request:
    input_ids: list[int]
    params: SamplingParams
    stream: GenerationStream
    generator: torch.Generator | None
    events: queue.Queue = field(default_factory=queue.Queue)
    last_token: int = 0
    # Set by the consuming thread (stop, stop string, abandoned stream) and
    # read by the scheduler before each step: plain attributes suffice.
    cancelled: bool = False
    done: bool = False

    @property
    def running(self) -> bool:
        return not (self.done or self.cancelled)

    def end(self, reason: str, error: BaseException | None = None) -> None:
        self.done = True
        self.events.put(_End(reason, error))


class _BatchLayer(DynamicLayer):
    """One layer's keys and values for the whole batch, left-padded, in a
    buffer with spare columns: a step writes its column in place where
    DynamicLayer copies the whole cache (torch.cat) every step."""

    def __init__(self, keys: torch.Tensor, values: torch.Tensor, length: int):
        super().__init__()
        self.buffer_keys, self.buffer_values, self.length = keys, values, length
        self.dtype, self.device = keys.dtype, keys.device
        self.is_initialized = True
        self._expose()

    def _expose(self) -> None:
        self.keys = self.buffer_keys[:, :, : self.length]
        self.values = self.buffer_values[:, :, : self.length]

    def update(self, key_states, value_states, *args, **kwargs):
        end = self.length + key_states.shape[-2]
        self.buffer_keys[:, :, self.length : end] = key_states
        self.buffer_values[:, :, self.length : end] = value_states
        self.length = end
        self._expose()
        return self.keys, self.values

    def get_seq_length(self) -> int:
        return self.length

    def capacity(self) -> int:
        return self.buffer_keys.shape[-2]


class _Batch:
    """The running rows and their shared, left-padded cache.

    Row r's real tokens fill columns pads[r]..length-1 of every layer; the
    columns before them are zeros hidden by the attention mask."""

    def __init__(self, device: str):
        self.device = device
        self.rows: list[_Request] = []
        self.pads = torch.zeros(0, dtype=torch.long, device=device)
        self.layers: list[_BatchLayer] = []
        self.cache: Cache | None = None

    @property
    def length(self) -> int:
        return self.layers[0].length if self.layers else 0

    def relayout(self, joining: list[tuple[_Request, list[tuple[torch.Tensor, torch.Tensor]]]]) -> None:
        """Drops the rows that stopped running and appends the `joining`
        ones (each with its prefilled keys and values), re-padding every row
        on the left to the longest one. One copy of the cache, only when the
        membership changes."""
        kept = [i for i, row in enumerate(self.rows) if row.running]
        if not joining and len(kept) == len(self.rows):
            return
        rows = [self.rows[i] for i in kept] + [request for request, _ in joining]
        if not rows:
            self.rows, self.layers, self.cache = [], [], None
            return
        length = self.length
        kept_pads = self.pads[kept]
        shift = int(kept_pads.min()) if kept else length  # leading columns no kept row uses
        kept_width = length - shift
        width = max([kept_width] + [kv[0][0].shape[-2] for _, kv in joining])
        index = torch.tensor(kept, dtype=torch.long, device=self.device)
        layers = []
        for layer_index in range(len(self.layers) or len(joining[0][1])):
            old = (self.layers[layer_index].keys, self.layers[layer_index].values) if kept else None
            buffers = []
            for part in (0, 1):
                like = old[part] if old else joining[0][1][layer_index][part]
                buffer = torch.zeros(
                    len(rows),
                    like.shape[1],
                    width + _SPARE_COLUMNS,
                    like.shape[3],
                    dtype=like.dtype,
                    device=self.device,
                )
                if old:
                    buffer[: len(kept), :, width - kept_width : width] = old[part].index_select(0, index)[:, :, shift:]
                for offset, (_, kv) in enumerate(joining):
                    prefilled = kv[layer_index][part][0]
                    buffer[len(kept) + offset, :, width - prefilled.shape[-2] : width] = prefilled
                buffers.append(buffer)
            layers.append(_BatchLayer(buffers[0], buffers[1], width))
        joining_pads = torch.tensor(
            [width - kv[0][0].shape[-2] for _, kv in joining], dtype=torch.long, device=self.device
        )
        self.pads = torch.cat([kept_pads - shift + (width - kept_width), joining_pads])
        self.rows, self.layers = rows, layers
        self.cache = Cache(layers=self.layers)

    def reserve_column(self) -> None:
        """Room for one more column in every layer (rarely: a copy)."""
        if self.length < self.layers[0].capacity():
            return
        for layer in self.layers:
            grown = []
            for buffer in (layer.buffer_keys, layer.buffer_values):
                wider = torch.zeros(
                    *buffer.shape[:2],
                    buffer.shape[2] + _SPARE_COLUMNS,
                    buffer.shape[3],
                    dtype=buffer.dtype,
                    device=buffer.device,
                )
                wider[:, :, : buffer.shape[2]] = buffer
                grown.append(wider)
            layer.buffer_keys, layer.buffer_values = grown
            layer._expose()

    def step(self, model) -> torch.Tensor:
        """One forward over every row's last token; the next-token logits."""
        self.reserve_column()
        length = self.length
        input_ids = torch.tensor([[row.last_token] for row in self.rows], dtype=torch.long, device=self.device)
        columns = torch.arange(length + 1, device=self.device)
        attention_mask = (columns[None, :] >= self.pads[:, None]).long()
        position_ids = (length - self.pads)[:, None]
        out = model(
            input_ids=input_ids,
            attention_mask=attention_mask,
            position_ids=position_ids,
            past_key_values=self.cache,
            use_cache=True,
        )
        return out.logits[:, -1, :]


def _sample(logits: torch.Tensor, requests: list[_Request]) -> list[int]:
    """Each row's next token with its own request's sampling parameters."""
    tokens = logits.argmax(dim=-1).tolist()
    sampled = [i for i, request in enumerate(requests) if not request.params.greedy]
    if not sampled:
        return tokens
    index = torch.tensor(sampled, device=logits.device)
    temperatures = torch.tensor([requests[i].params.temperature for i in sampled], device=logits.device)
    top_ps = torch.tensor([requests[i].params.top_p for i in sampled], device=logits.device)
    probs = torch.softmax(logits.index_select(0, index).float() / temperatures[:, None], dim=-1)
    # Top-p: keep the most likely tokens until their mass reaches top_p (the first always).
    sorted_probs, order = probs.sort(dim=-1, descending=True)
    sorted_probs = sorted_probs.masked_fill(sorted_probs.cumsum(-1) - sorted_probs >= top_ps[:, None], 0.0)
    for row, i in enumerate(sampled):
        choice = torch.multinomial(sorted_probs[row], 1, generator=requests[i].generator)
        tokens[i] = int(order[row, choice])
    return tokens


class DynamicBatchingBackend(LocalBackend):
    name = "local-dynamic"

    def __init__(self, model_path: str, device: str = "auto", dtype: torch.dtype | None = None, max_batch: int = 32):
        super().__init__(model_path, device=device, dtype=dtype)
        eos = self.model.generation_config.eos_token_id
        self.eos_token_ids = frozenset([] if eos is None else [eos] if isinstance(eos, int) else eos)
        self.max_batch = max_batch
        self._waiting: deque[_Request] = deque()
        self._condition = threading.Condition()
        self._scheduler: threading.Thread | None = None
        close_at_exit(self.close)

    def stream(
        self, messages: ChatMessages, params: SamplingParams, should_stop: Callable[[], bool]
    ) -> GenerationStream:
        input_ids = self.encode_chat(messages, params.max_new_tokens)[0].tolist()
        stream = GenerationStream(deltas=iter(()), prompt_tokens=len(input_ids))
        generator = None
        if params.seed is not None:
            generator = torch.Generator(device=self.device).manual_seed(params.seed)
        request = _Request(input_ids=input_ids, params=params, stream=stream, generator=generator)
        with self._condition:
            self._waiting.append(request)
            if self._scheduler is None:
                self._scheduler = start_model_thread(self._schedule, name="dynamic-batching")
            self._condition.notify()
        stream.deltas = self._deltas(request, should_stop)
        return stream

    def _deltas(self, request: _Request, should_stop: Callable[[], bool]):
        stream, stops = request.stream, request.params.stop
        tokens: list[int] = []
        shown = 0
        try:
            while True:
                if should_stop():
                    stream.finish_reason = "cancelled"
                    return
                try:
                    items = [request.events.get(timeout=_POLL_SECONDS)]
                except queue.Empty:
                    continue
                while not request.events.empty():
                    items.append(request.events.get_nowait())
                end = next((item for item in items if isinstance(item, _End)), None)
                if end is not None and end.error is not None:
                    raise end.error
                tokens += [item for item in items if not isinstance(item, _End)]
                text = self.tokenizer.decode(tokens, skip_special_tokens=True)
                cut, stopped = releasable_end(text, stops, final=end is not None)
                if cut > shown:
                    yield text[shown:cut]
                    shown = cut
                if stopped:
                    return
                if end is not None:
                    stream.finish_reason = end.reason
                    return
        finally:
            # Stopped, a stop string, or the consumer walked away: the slot is freed before the next step.
            request.cancelled = True
            stream.finished_at = time.perf_counter()

    def _next_requests(self, running: int) -> list[_Request] | None:
        """The requests to admit now; waits while nothing runs. None: idle
        for long enough, the thread ends (it holds no reference to the
        backend past that, so an evicted backend can be freed)."""
        with self._condition:
            if exiting.is_set():  # ends the thread before the interpreter goes (shutdown.py)
                while self._waiting:
                    self._waiting.popleft().end("error", RuntimeError(_ENGINE_SHUT_DOWN))
                self._scheduler = None
                return None
            if not running:
                self._condition.wait_for(lambda: self._waiting or exiting.is_set(), timeout=_IDLE_SECONDS)
                if not self._waiting:
                    self._scheduler = None
                    return None
            admitted, tokens = [], 0
            while (
                self._waiting
                and running + len(admitted) < self.max_batch
                and (not admitted or tokens + len(self._waiting[0].input_ids) <= _PREFILL_TOKENS_PER_STEP)
            ):
                request = self._waiting.popleft()
                if request.cancelled:
                    continue
                admitted.append(request)
                tokens += len(request.input_ids)
            return admitted

    def close(self) -> None:
        """Wakes an idle scheduler at exit, so it ends at once."""
        with self._condition:
            self._condition.notify_all()

    def _prefill(self, request: _Request) -> tuple[int, list[tuple[torch.Tensor, torch.Tensor]]]:
        cache = DynamicCache(config=self.model.config)
        input_ids = torch.tensor([request.input_ids], dtype=torch.long, device=self.device)
        out = self.model(input_ids=input_ids, past_key_values=cache, use_cache=True, logits_to_keep=1)
        token = _sample(out.logits[:, -1, :], [request])[0]
        return token, [(layer.keys, layer.values) for layer in cache.layers]

    def _emit(self, request: _Request, token: int) -> None:
        """Hands one token to its request; ends the request at end of turn
        or max_new_tokens."""
        stream = request.stream
        stream.completion_tokens += 1  # the end-of-turn token too, as `generate` counts
        if stream.first_token_at is None:
            stream.first_token_at = time.perf_counter()
        if token in self.eos_token_ids:
            request.end("stop")
            return
        request.last_token = token
        request.events.put(token)
        if stream.completion_tokens >= request.params.max_new_tokens:
            request.end("length")

    def _schedule(self) -> None:
        batch = _Batch(self.device)
        with torch.inference_mode():
            while True:
                admitted = self._next_requests(sum(row.running for row in batch.rows))
                if admitted is None:
                    for row in batch.rows:
                        if row.running:
                            row.end("error", RuntimeError(_ENGINE_SHUT_DOWN))
                    return
                joining = []
                for request in admitted:
                    try:
                        token, kv = self._prefill(request)
                    except Exception as exc:  # handed to the request's stream
                        request.end("error", exc)
                        continue
                    self._emit(request, token)
                    if request.running:
                        joining.append((request, kv))
                batch.relayout(joining)
                if not batch.rows:
                    continue
                try:
                    tokens = _sample(batch.step(self.model), batch.rows)
                except Exception as exc:  # every running answer ends with the error
                    for row in batch.rows:
                        row.end("error", exc)
                    batch = _Batch(self.device)
                    continue
                for row, token in zip(batch.rows, tokens, strict=True):
                    if row.running:
                        self._emit(row, token)
