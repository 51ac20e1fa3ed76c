"""Why is our single-stream generate path slow on a GPU? Times model.generate in the main thread against the
same call in a helper thread with several streamers (results: bench/results/gpu_streamer_probe.txt).
Answered later by bench/gpu_thread_probe.py: not the thread as such, but cuDNN attention building a
plan for every new shape, with plans kept per thread (a new thread rebuilds them all)."""

import queue
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, ".")
import torch
from transformers.generation.streamers import BaseStreamer, TextIteratorStreamer

from engine.backends.local import LocalBackend
from engine.tiny import build_tiny_chat_model

d = build_tiny_chat_model(
    Path(tempfile.mkdtemp()) / "m", never_ends=True, init_std=0.3, hidden_size=768, layers=14, heads=12
)
b = LocalBackend(str(d))
ids = b.encode_chat([{"role": "user", "content": "hello there"}], 256).to(b.device)
base = dict(attention_mask=torch.ones_like(ids), max_new_tokens=256, do_sample=False, pad_token_id=0)


class Null(BaseStreamer):
    def put(self, v):
        pass

    def end(self):
        pass


def timed(name, make_kwargs, consume=None):
    for _rep in range(2):
        kw = make_kwargs()
        t = time.perf_counter()
        if consume:
            th = threading.Thread(target=lambda kw=kw: b.model.generate(ids, **base, **kw))
            th.start()
            for _ in kw["streamer"]:
                pass
            th.join()
        else:
            with torch.inference_mode():
                b.model.generate(ids, **base, **kw)
        torch.cuda.synchronize()
        el = time.perf_counter() - t
    print(f"{name}: {256 / el:.1f} tok/s", flush=True)


class IdQueue(BaseStreamer):
    def __init__(self):
        self.q = queue.Queue()
        self.first = True

    def put(self, v):
        if self.first:
            self.first = False
            return
        self.q.put(v.tolist())

    def end(self):
        self.q.put(None)

    def __iter__(self):
        while (x := self.q.get()) is not None:
            yield x


def threaded(name, streamer_factory, inference=True):
    for _rep in range(2):
        st = streamer_factory()

        def run(st=st):
            if inference:
                with torch.inference_mode():
                    b.model.generate(ids, **base, streamer=st)
            else:
                b.model.generate(ids, **base, streamer=st)

        t = time.perf_counter()
        th = threading.Thread(target=run)
        th.start()
        if hasattr(st, "__iter__"):
            for _ in st:
                pass
        th.join()
        torch.cuda.synchronize()
        el = time.perf_counter() - t
    print(f"{name}: {256 / el:.1f} tok/s", flush=True)


timed("plain", lambda: {})
threaded("thread + null streamer", Null)
threaded("thread + id queue", IdQueue)
threaded(
    "thread + text iterator, inference",
    lambda: TextIteratorStreamer(b.tokenizer, skip_prompt=True, skip_special_tokens=True),
)
sys.setswitchinterval(0.0005)
threaded(
    "thread + text iterator, switch 0.5ms",
    lambda: TextIteratorStreamer(b.tokenizer, skip_prompt=True, skip_special_tokens=True),
)
