"""Transformers on this machine's CPU or GPU.

`model.generate` runs in a helper thread and hands token ids to a streamer;
this thread decodes them into text deltas. Cancellation is a stopping
criterion that polls `should_stop` between decoding steps.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, StoppingCriteria, StoppingCriteriaList
from transformers.generation.streamers import TextIteratorStreamer

from .base import ChatMessages, ContextTooLong, GenerationStream, SamplingParams, releasable_end
from .shutdown import exiting, start_model_thread


def pick_device(requested: str = "auto") -> str:
    if requested != "auto":
        return requested
    return "cuda" if torch.cuda.is_available() else "cpu"


class _StopWhen(StoppingCriteria):
    def __init__(self, should_stop: Callable[[], bool]):
        self.should_stop = should_stop
        self.fired = False

    def __call__(self, input_ids, scores, **kwargs):
        if self.should_stop() or exiting.is_set():
            self.fired = True
        return torch.full((input_ids.shape[0],), self.fired, dtype=torch.bool, device=input_ids.device)


class _CountingStreamer(TextIteratorStreamer):
    """Counts generated tokens and notes when the first one arrived."""

    def __init__(self, tokenizer, stream: GenerationStream, **kwargs):
        super().__init__(tokenizer, skip_prompt=True, skip_special_tokens=True, **kwargs)
        self.stream = stream

    def put(self, value):
        if not self.next_tokens_are_prompt:
            self.stream.completion_tokens += value.numel()
            if self.stream.first_token_at is None:
                self.stream.first_token_at = time.perf_counter()
        super().put(value)


def avoid_cudnn_attention() -> None:
    """Decoding on a GPU uses SDPA's flash and memory-efficient kernels, not
    cuDNN's. cuDNN builds an execution plan for every new shape, and while
    decoding the key length grows by one each step. On an H100 (torch 2.11)
    the plan building cost 1.7-2.1 ms of CPU per attention call, 60% of a
    decoding step, and held a 75M model to 18 tokens/s against 83 for a
    rerun whose shapes had all been seen, in the same thread
    (bench/results/gpu_thread_probe.txt). The plans are kept per thread
    too, which is why generate in a new thread ran at 14-18 tokens/s even
    on shapes seen before (bench/results/gpu_streamer_probe.txt).
    Process-wide, which suits a generation worker: its attention is all
    decoding and prefill."""
    torch.backends.cuda.enable_cudnn_sdp(False)


# Turns tokenised per call while guessing how many fit (bounded memory;
# a guess needs the turns that fit and one chunk more).
_TOKENISE_CHUNK = 64


def _first_true(test: Callable[[int], bool], last: int, guess: int) -> int:
    """The smallest index in 0..last for which `test` holds, where it holds
    from some index on and holds at `last`. Starts at `guess` and walks in
    doubling steps until it brackets the answer, then bisects: a good guess
    costs two tests."""
    if test(guess):
        low, high, step = guess - 1, guess, 1  # test(high) holds; low is -1 or fails
        while low >= 0 and test(low):
            high, low, step = low, low - step * 2, step * 2
        low = max(low, -1)
    else:
        low, high, step = guess, guess + 1, 1  # test(low) fails
        while high < last and not test(high):
            low, high, step = high, high + step * 2, step * 2
        high = min(high, last)
    while high - low > 1:
        middle = (low + high) // 2
        if test(middle):
            high = middle
        else:
            low = middle
    return high


class LocalBackend:
    name = "local"

    def __init__(self, model_path: str, device: str = "auto", dtype: torch.dtype | None = None):
        self.model_path = str(model_path)
        self.device = pick_device(device)
        if dtype is None:
            dtype = torch.bfloat16 if self.device.startswith("cuda") else torch.float32
        if self.device.startswith("cuda"):
            avoid_cudnn_attention()
        self.tokenizer = AutoTokenizer.from_pretrained(self.model_path)
        self.model = AutoModelForCausalLM.from_pretrained(self.model_path, dtype=dtype).to(self.device).eval()
        self.max_context = int(getattr(self.model.config, "max_position_embeddings", 2048))

    def encode_chat(self, messages: ChatMessages, max_new_tokens: int) -> torch.Tensor:
        """Applies the chat template, dropping the oldest turns (never the
        system prompt, never the newest user turn; two at a time, so the
        kept turns still open with the user's) until the prompt and the
        answer fit the model's context: the most turns that fit.

        Rendering the whole chat again after each drop cost time quadratic
        in the turns (bench/v1_history.py). Now the whole chat is rendered
        once; when it does not fit, each newest turn's text is tokenised
        once, going back until the budget is spent, to guess where the kept
        turns start, and rendering from there checks the guess (a wrong one
        moves in doubling steps, then by bisection). The same turns are kept
        as before while more turns never render to fewer tokens."""
        system = [m for m in messages[:1] if m["role"] == "system"]
        turns = messages[len(system) :]
        budget = self.max_context - max_new_tokens
        # Where the kept turns may start, most turns first: whole exchanges
        # dropped, then all but the newest turn.
        starts = [*range(0, len(turns) - 1, 2), max(len(turns) - 1, 0)]
        rendered: dict[int, torch.Tensor] = {}
        # A chat that ends with an assistant turn asks for that turn to go on (chat's Continue).
        continues = bool(turns) and turns[-1]["role"] == "assistant"

        def ids(index: int) -> torch.Tensor:
            if index not in rendered:
                rendered[index] = self.tokenizer.apply_chat_template(
                    system + turns[starts[index] :],
                    add_generation_prompt=not continues,
                    continue_final_message=continues,
                    return_tensors="pt",
                    return_dict=True,
                )["input_ids"]
            return rendered[index]

        def fits(index: int) -> bool:
            return ids(index).shape[1] <= budget

        if fits(0):  # the whole chat: one rendering, as most chats need
            return ids(0)
        last = len(starts) - 1
        if not fits(last):
            raise ContextTooLong(
                f"The message takes {ids(last).shape[1]} tokens; this model reads at most {budget} "
                f"before a {max_new_tokens}-token answer."
            )
        return ids(_first_true(fits, last, self._guess_first_fitting(turns, starts, ids, budget)))

    def _guess_first_fitting(self, turns, starts, ids, budget: int) -> int:
        """The index in `starts` of the most turns that seem to fit: from
        the newest exchange's exact rendering back, each turn costs its
        text's tokens plus the template's tokens around a turn (what the
        last two renderings differ by beyond their texts)."""
        index = len(starts) - 2
        if index < 0:
            return 0
        end = starts[index]
        between = self.tokenizer([t["content"] for t in turns[end : starts[-1]]], add_special_tokens=False)["input_ids"]
        per_turn = max((ids(index).shape[1] - ids(index + 1).shape[1] - sum(map(len, between))) / len(between), 0.0)
        spent = float(ids(index).shape[1])
        while index > 0:
            chunk = turns[max(end - _TOKENISE_CHUNK, 0) : end]
            counts = self.tokenizer([t["content"] for t in chunk], add_special_tokens=False)["input_ids"]
            for count in reversed(counts):
                spent += len(count) + per_turn
                end -= 1
                if spent > budget:
                    return index
                if end == starts[index - 1]:
                    index -= 1
        return index

    def stream(
        self, messages: ChatMessages, params: SamplingParams, should_stop: Callable[[], bool]
    ) -> GenerationStream:
        input_ids = self.encode_chat(messages, params.max_new_tokens).to(self.device)
        stream = GenerationStream(deltas=iter(()), prompt_tokens=int(input_ids.shape[1]))
        streamer = _CountingStreamer(self.tokenizer, stream, timeout=None)
        stop_criterion = _StopWhen(should_stop)
        kwargs = dict(
            input_ids=input_ids,
            attention_mask=torch.ones_like(input_ids),
            max_new_tokens=params.max_new_tokens,
            streamer=streamer,
            stopping_criteria=StoppingCriteriaList([stop_criterion]),
            pad_token_id=self.tokenizer.pad_token_id or self.tokenizer.eos_token_id,
        )
        if params.greedy:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        else:
            kwargs.update(do_sample=True, temperature=params.temperature, top_p=params.top_p, top_k=None)
        if params.stop:
            kwargs.update(stop_strings=list(params.stop), tokenizer=self.tokenizer)
        failure: list[BaseException] = []

        def run():
            try:
                if params.seed is not None:
                    torch.manual_seed(params.seed)
                with torch.inference_mode():
                    self.model.generate(**kwargs)
            except BaseException as exc:  # handed to the consuming thread below
                failure.append(exc)
                streamer.end()

        def deltas():
            worker = start_model_thread(run, name="generate")
            text, shown = "", 0
            for piece in streamer:
                text += piece
                # generate stops itself just after a stop string; what
                # follows one is never shown.
                end, _ = releasable_end(text, params.stop, final=False)
                if end > shown:
                    yield text[shown:end]
                    shown = end
            worker.join()
            end, _ = releasable_end(text, params.stop, final=True)
            if end > shown:
                yield text[shown:end]
            stream.finished_at = time.perf_counter()
            if failure:
                raise failure[0]
            if stop_criterion.fired:
                stream.finish_reason = "cancelled"
            elif stream.completion_tokens >= params.max_new_tokens:
                stream.finish_reason = "length"

        stream.deltas = deltas()
        return stream
