"""Generation throughput on a GPU: a from-scratch Llama of about 100M
parameters (random weights, so every answer runs to max_new_tokens), single
stream and 32 concurrent requests, through our engines (transformers'
continuous batching, our dynamic batching, one `generate` per request)
against `model.generate` on the same model, in the same run.

    python bench/gpu_generation.py [--out bench/results/gpu_generation.json] [--tiny]

`--tiny` runs a toy configuration on the CPU to check the script itself.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from engine.backends import SamplingParams  # noqa: E402
from engine.backends.batched import BatchedLocalBackend  # noqa: E402
from engine.backends.dynamic import DynamicBatchingBackend  # noqa: E402
from engine.backends.local import LocalBackend  # noqa: E402
from engine.tiny import build_tiny_chat_model  # noqa: E402

PROMPTS = [f"Question {i}: tell me a long story about the sea and the fox number {i}." for i in range(64)]


def sync():
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def generate_single(backend: LocalBackend, new_tokens: int) -> float:
    ids = backend.encode_chat([{"role": "user", "content": PROMPTS[0]}], new_tokens).to(backend.device)
    kwargs = dict(attention_mask=torch.ones_like(ids), max_new_tokens=new_tokens, do_sample=False)
    backend.model.generate(ids, **kwargs)  # warm-up
    sync()
    started = time.perf_counter()
    out = backend.model.generate(ids, **kwargs)
    sync()
    return (out.shape[1] - ids.shape[1]) / (time.perf_counter() - started)


def generate_static_batch(backend: LocalBackend, batch: int, new_tokens: int) -> float:
    tokenizer = backend.tokenizer
    tokenizer.padding_side = "left"
    texts = [
        tokenizer.apply_chat_template([{"role": "user", "content": p}], add_generation_prompt=True, tokenize=False)
        for p in PROMPTS[:batch]
    ]
    enc = tokenizer(texts, return_tensors="pt", padding=True).to(backend.device)
    kwargs = dict(max_new_tokens=new_tokens, do_sample=False, pad_token_id=tokenizer.pad_token_id)
    backend.model.generate(**enc, **kwargs)
    sync()
    started = time.perf_counter()
    out = backend.model.generate(**enc, **kwargs)
    sync()
    return batch * (out.shape[1] - enc["input_ids"].shape[1]) / (time.perf_counter() - started)


def engine_concurrent(backend, streams: int, new_tokens: int) -> dict:
    params = SamplingParams(temperature=0, max_new_tokens=new_tokens)
    results = [None] * streams

    def run(i):
        stream = backend.stream([{"role": "user", "content": PROMPTS[i % len(PROMPTS)]}], params, lambda: False)
        for _ in stream:
            pass
        results[i] = stream

    def once():
        threads = [threading.Thread(target=run, args=(i,)) for i in range(streams)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return time.perf_counter() - started

    once()  # warm-up: allocations, kernels
    elapsed = once()
    tokens = sum(r.completion_tokens for r in results)
    ttfts = sorted(r.ttft_seconds * 1000 for r in results if r.ttft_seconds is not None)
    return {
        "streams": streams,
        "aggregate_tokens_per_second": tokens / elapsed,
        "ttft_ms_p50": statistics.median(ttfts),
        "ttft_ms_p99": ttfts[min(len(ttfts) - 1, int(len(ttfts) * 0.99))],
        "tokens": tokens,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "bench/results/gpu_generation.json"))
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--new-tokens", type=int, default=256)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    shape = dict(hidden_size=32, layers=2, heads=4) if args.tiny else dict(hidden_size=768, layers=14, heads=12)
    new_tokens = 16 if args.tiny else args.new_tokens
    concurrency = 4 if args.tiny else args.concurrency
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = build_tiny_chat_model(Path(tmp) / "model", never_ends=True, init_std=0.3, **shape)
        plain = LocalBackend(str(model_dir))
        params = sum(p.numel() for p in plain.model.parameters())
        report = {
            "device": torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu",
            "torch": torch.__version__,
            "dtype": str(plain.model.dtype),
            "attention": plain.model.config._attn_implementation,
            "parameters": params,
            "new_tokens": new_tokens,
            "generate_single_tokens_per_second": generate_single(plain, new_tokens),
            f"generate_static_batch{concurrency}_tokens_per_second": generate_static_batch(
                plain, concurrency, new_tokens
            ),
            "engine_generate_single": engine_concurrent(plain, 1, new_tokens),
        }
        del plain
        batched = BatchedLocalBackend(str(model_dir), max_batch=max(concurrency, 32))
        report["engine_batched_single"] = engine_concurrent(batched, 1, new_tokens)
        report[f"engine_batched_{concurrency}"] = engine_concurrent(batched, concurrency, new_tokens)
        batched.close()
        del batched
        dynamic = DynamicBatchingBackend(str(model_dir))
        report["engine_dynamic_single"] = engine_concurrent(dynamic, 1, new_tokens)
        report[f"engine_dynamic_{concurrency}"] = engine_concurrent(dynamic, concurrency, new_tokens)
        dynamic.close()
    base = report["generate_single_tokens_per_second"]
    static = report[f"generate_static_batch{concurrency}_tokens_per_second"]
    report["ratios"] = {
        "engine_generate_single_vs_generate": report["engine_generate_single"]["aggregate_tokens_per_second"] / base,
    }
    for engine in ("batched", "dynamic"):
        single, many = report[f"engine_{engine}_single"], report[f"engine_{engine}_{concurrency}"]
        report["ratios"].update(
            {
                f"engine_{engine}_single_vs_generate": single["aggregate_tokens_per_second"] / base,
                f"engine_{engine}_{concurrency}_vs_generate_single": many["aggregate_tokens_per_second"] / base,
                f"engine_{engine}_{concurrency}_vs_static_batch": many["aggregate_tokens_per_second"] / static,
            }
        )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
