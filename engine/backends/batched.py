"""Transformers' continuous batching: concurrent conversations share forward
passes in one scheduler per process.

One background thread (transformers') runs the batches; one router thread
(ours) hands each request's outputs to the thread that streams it. A
stopped conversation is cancelled in the scheduler at once, which frees its
slot and its cache blocks for the others.
"""

from __future__ import annotations

import queue
import threading
import time
import uuid
from collections.abc import Callable

import torch
from transformers import GenerationConfig
from transformers.generation.configuration_utils import ContinuousBatchingConfig

from .base import ChatMessages, GenerationStream, SamplingParams, releasable_end
from .local import LocalBackend
from .shutdown import close_at_exit

_POLL_SECONDS = 0.05


class BatchedLocalBackend(LocalBackend):
    name = "local-batched"

    def __init__(self, model_path: str, device: str = "auto", dtype: torch.dtype | None = None, max_batch: int = 32):
        super().__init__(model_path, device=device, dtype=dtype)
        eos = self.model.generation_config.eos_token_id
        self.eos_token_id = eos if eos is not None else -1
        # Non-default temperature, top-k and top-p make transformers build
        # the per-request versions of those processors; each request then
        # brings its own values (top-k = vocabulary size means no top-k).
        self.vocab_size = int(self.model.config.vocab_size)
        generation_config = GenerationConfig(
            do_sample=True,
            temperature=0.7,
            top_p=0.9,
            top_k=self.vocab_size,
            max_new_tokens=512,
            eos_token_id=self.eos_token_id,
            pad_token_id=self.tokenizer.pad_token_id,
        )
        self.manager = self.model.init_continuous_batching(
            generation_config=generation_config,
            continuous_batching_config=ContinuousBatchingConfig(
                per_request_processors=True, max_requests_per_batch=max_batch
            ),
        )
        self.manager.start()
        self._outputs: dict[str, queue.Queue] = {}
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._router = threading.Thread(target=self._route, name="cb-router", daemon=True)
        self._router.start()
        close_at_exit(self.close)

    def _route(self):
        # get_result returns None at once, not after its timeout, once the
        # manager has stopped: the loop must end then, or it spins and
        # holds the GIL from every other thread of the process.
        while not self._closed.is_set():
            result = self.manager.get_result(timeout=1.0)
            if result is None:
                if not self.manager.is_running():
                    self._closed.wait(0.1)
                continue
            with self._lock:
                target = self._outputs.get(result.request_id)
            if target is not None:
                target.put(result)

    def stream(
        self, messages: ChatMessages, params: SamplingParams, should_stop: Callable[[], bool]
    ) -> GenerationStream:
        input_ids = self.encode_chat(messages, params.max_new_tokens)[0].tolist()
        stream = GenerationStream(deltas=iter(()), prompt_tokens=len(input_ids))
        request_id = uuid.uuid4().hex
        outputs: queue.Queue = queue.Queue()
        with self._lock:
            self._outputs[request_id] = outputs
        sampling = {"temperature": float(params.temperature), "top_p": float(params.top_p), "top_k": self.vocab_size}
        if params.greedy:
            sampling.update(temperature=1.0, top_p=1.0, top_k=1)
        if params.seed is not None:
            torch.manual_seed(params.seed)
        self.manager.add_request(
            input_ids,
            request_id=request_id,
            max_new_tokens=params.max_new_tokens,
            streaming=True,
            eos_token_id=self.eos_token_id,
            **sampling,
        )

        def deltas():
            shown = 0
            try:
                while True:
                    if should_stop():
                        self.manager.cancel_request(request_id)
                        stream.finish_reason = "cancelled"
                        break
                    try:
                        result = outputs.get(timeout=_POLL_SECONDS)
                    except queue.Empty:
                        continue
                    if result.error:
                        raise RuntimeError(f"Generation failed: {result.error}")
                    tokens = [t for t in result.generated_tokens if t != self.eos_token_id]
                    if tokens and stream.first_token_at is None:
                        stream.first_token_at = time.perf_counter()
                    stream.completion_tokens = len(result.generated_tokens)
                    text = self.tokenizer.decode(tokens, skip_special_tokens=True)
                    end, stopped = releasable_end(text, params.stop, final=result.is_finished())
                    if end > shown:
                        yield text[shown:end]
                        shown = end
                    if stopped:
                        self.manager.cancel_request(request_id)
                        break
                    if result.is_finished():
                        if stream.completion_tokens >= params.max_new_tokens:
                            stream.finish_reason = "length"
                        break
            finally:
                with self._lock:
                    self._outputs.pop(request_id, None)
                stream.finished_at = time.perf_counter()

        stream.deltas = deltas()
        return stream

    def close(self):
        """Stops the manager's thread (also at exit: shutdown.py says why)."""
        if self._closed.is_set():
            return
        self._closed.set()
        self.manager.stop(block=True)
        self._router.join(timeout=5)
