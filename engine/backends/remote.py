"""Any OpenAI-compatible server (vLLM, TGI, llama.cpp's server,
`transformers serve`) as the generation backend, streamed.

Closing the HTTP stream is how a stop reaches the server: vLLM and the
others abort a request whose client went away.
"""
from __future__ import annotations

import time
from typing import Callable

import openai

from .base import ChatMessages, GenerationStream, SamplingParams, releasable_end


class RemoteGenerationError(RuntimeError):
    """The model server failed; the message is fit to show in the chat."""


class OpenAIBackend:
    name = "openai"

    def __init__(self, base_url: str, api_key: str = "", model: str = "", timeout: float = 120.0):
        if not base_url:
            raise RemoteGenerationError("GENERATION_BACKEND=openai needs OPENAI_BASE_URL.")
        self.base_url = base_url
        self.model_path = model or base_url
        self.model = model
        self.client = openai.OpenAI(base_url=base_url, api_key=api_key or "none", timeout=timeout, max_retries=1)

    def _describe(self, exc: Exception) -> str:
        if isinstance(exc, openai.APIStatusError):
            detail = getattr(exc, "message", "") or str(exc)
            return f"The model server at {self.base_url} answered {exc.status_code}: {detail}"[:480]
        if isinstance(exc, openai.APIConnectionError):
            return f"The model server at {self.base_url} cannot be reached."
        return f"The model server at {self.base_url} failed: {exc}"[:480]

    def stream(self, messages: ChatMessages, params: SamplingParams, should_stop: Callable[[], bool]) -> GenerationStream:
        request = dict(
            model=self.model, messages=messages, stream=True, stream_options={"include_usage": True},
            max_tokens=params.max_new_tokens, temperature=params.temperature, top_p=params.top_p,
        )
        if params.stop:
            request["stop"] = list(params.stop)
        if params.seed is not None:
            request["seed"] = params.seed
        stream = GenerationStream(deltas=iter(()))
        try:
            response = self.client.chat.completions.create(**request)
        except openai.OpenAIError as exc:
            raise RemoteGenerationError(self._describe(exc)) from exc

        def deltas():
            text, shown, chunks = "", 0, 0
            try:
                for chunk in response:
                    if should_stop():
                        stream.finish_reason = "cancelled"
                        break
                    if chunk.usage is not None:
                        stream.prompt_tokens = chunk.usage.prompt_tokens or 0
                        stream.completion_tokens = chunk.usage.completion_tokens or 0
                    for choice in chunk.choices or ():
                        if choice.delta and choice.delta.content:
                            chunks += 1
                            if stream.first_token_at is None:
                                stream.first_token_at = time.perf_counter()
                            text += choice.delta.content
                        if choice.finish_reason == "length":
                            stream.finish_reason = "length"
                    # Servers differ on stop strings; none is ever shown.
                    end, stopped = releasable_end(text, params.stop, final=False)
                    if end > shown:
                        yield text[shown:end]
                        shown = end
                    if stopped:
                        break
                else:
                    end, _ = releasable_end(text, params.stop, final=True)
                    if end > shown:
                        yield text[shown:end]
            except openai.OpenAIError as exc:
                raise RemoteGenerationError(self._describe(exc)) from exc
            finally:
                response.close()
                stream.finished_at = time.perf_counter()
                if not stream.completion_tokens:
                    stream.completion_tokens = chunks  # a server that reports no usage: chunks, roughly tokens

        stream.deltas = deltas()
        return stream
