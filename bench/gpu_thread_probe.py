"""Why does `model.generate` decode several times slower in a helper thread
than in the main thread on a GPU (bench/results/gpu_streamer_probe.txt)?

Times the same greedy call, in one process, in the main thread, in a helper
thread, and in a helper thread that first calls `torch.set_num_threads(1)`,
then profiles the helper thread's call and prints its costliest operators.
Run it once as is and once with OMP_NUM_THREADS=1 to compare.

Found on an H100 (bench/results/gpu_thread_probe.txt): not the thread and
not OpenMP. Main and helper thread both ran at 18 tokens/s on shapes not
seen before, with or without OMP_NUM_THREADS=1, and cuDNN's attention took
60% of the CPU time, 1.7-2.1 ms a call, building a plan for each new key
length. The engine now turns cuDNN attention off on CUDA
(engine.backends.local.avoid_cudnn_attention).

    python bench/gpu_thread_probe.py [--tokens 64] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from engine.backends.local import LocalBackend  # noqa: E402
from engine.tiny import build_tiny_chat_model  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--out")
    args = parser.parse_args()
    shape = (
        dict(hidden_size=768, layers=14, heads=12)
        if torch.cuda.is_available()
        else dict(hidden_size=32, layers=2, heads=4)
    )
    backend = LocalBackend(
        str(build_tiny_chat_model(Path(tempfile.mkdtemp()) / "m", never_ends=True, init_std=0.3, **shape))
    )
    ids = backend.encode_chat([{"role": "user", "content": "hello there"}], args.tokens).to(backend.device)

    def generate(tokens: int):
        with torch.inference_mode():
            backend.model.generate(
                ids, attention_mask=torch.ones_like(ids), max_new_tokens=tokens, do_sample=False, pad_token_id=0
            )
        if torch.cuda.is_available():
            torch.cuda.synchronize()

    def tokens_per_second(before=None) -> float:
        def run():
            if before:
                before()
            generate(8)
            started = time.perf_counter()
            generate(args.tokens)
            result.append(args.tokens / (time.perf_counter() - started))

        result = []
        return run, result

    report = {"OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"), "torch_threads_main": torch.get_num_threads()}
    run, result = tokens_per_second()
    run()
    report["main_thread"] = result[0]
    for name, before in (
        ("helper_thread", None),
        ("helper_thread_set_num_threads_1", lambda: torch.set_num_threads(1)),
    ):
        run, result = tokens_per_second(before)
        thread = threading.Thread(target=run)
        thread.start()
        thread.join()
        report[name] = result[0]

    table = []

    def profiled():
        generate(8)
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
            generate(16)
        table.append(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=12))
        report["helper_threads_seen"] = torch.get_num_threads()

    thread = threading.Thread(target=profiled)
    thread.start()
    thread.join()
    print(json.dumps(report, indent=2))
    print(table[0])
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=2) + "\n" + table[0])


if __name__ == "__main__":
    main()
