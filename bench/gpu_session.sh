#!/usr/bin/env bash
# Every GPU check of the training and generation issues in one call of a lent
# GPU machine (about 9 minutes of an H100, 2026-11-27):
# pre-training to 2.10 bits per byte, GPT-2-small MFU, generation throughput,
# and the helper-thread probe. Each part has its own time limit and writes
# its JSON to $OUT (default bench/results) as it goes.
#
# Expects, beside the working tree: .whl/ (a transformers wheel, when the
# machine's is older), .gpu/corpus.txt (tinyshakespeare) and .gpu/tokenizer/
# (a ~50k-vocabulary tokenizer, the bundled SmolLM2's).
set -u
OUT=${OUT:-bench/results}
if ls .whl/*.whl >/dev/null 2>&1; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
        && export PYTHONPATH=/tmp/site
fi
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
nvidia-smi --query-gpu=name,memory.total,clocks.sm,clocks.max.sm --format=csv
python3 -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__)"
timeout 300 python3 bench/gpu_pretrain.py --corpus .gpu/corpus.txt --only sweep --out "$OUT/gpu_pretrain.json"
timeout 120 python3 bench/gpu_pretrain.py --corpus .gpu/corpus.txt --tokenizer .gpu/tokenizer --only mfu \
    --out "$OUT/gpu_pretrain_mfu.json"
timeout 120 python3 bench/gpu_generation.py --new-tokens 128 --out "$OUT/gpu_generation.json" | tail -40
timeout 45 python3 bench/gpu_thread_probe.py --out "$OUT/gpu_thread_probe.txt" 2>&1 | grep -v "^Loading"
OMP_NUM_THREADS=1 timeout 45 python3 bench/gpu_thread_probe.py --out "$OUT/gpu_thread_probe_omp1.txt" 2>&1 \
    | grep -v "^Loading" | head -12
