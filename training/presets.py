"""Hyper-parameter presets per recipe: "cpu-quick" (minutes on a laptop
CPU), "single-gpu" and "multi-gpu" (per-GPU batch; the launcher sets the
number of processes). A config file picks one with `"preset": NAME`; its
own keys override the preset's."""

_SMOLLM2 = "var/models/smollm2-135m-instruct"

PRESETS: dict[str, dict[str, dict]] = {
    "pretrain": {
        # The most a 2-core CPU learns of tinyshakespeare in 5 minutes: a
        # small BPE vocabulary (more text per position) and a small model
        # that takes many steps; the LR schedule ends with the time budget.
        "cpu-quick": {
            "vocab_size": 512,
            "n_layer": 4,
            "n_head": 4,
            "n_kv_head": 4,
            "d_model": 128,
            "d_ff": 384,
            "seq_len": 128,
            "batch_size": 16,
            "lr": 3e-3,
            "warmup_steps": 50,
            "max_steps": 100000,
            "time_budget_s": 300.0,
            "eval_every": 250,
            "eval_tokens": 16384,
            "weight_decay": 0.1,
            "device": "cpu",
            "compile": False,
        },
        # ~14M parameters on bytes (vocabulary 257), bf16 + torch.compile,
        # dropout 0.2 as nanoGPT's shakespeare_char, 60 s of training. On an
        # H100 (bench/results/gpu_pretrain.json): a 1,024-token BPE at
        # dropout 0.2 or 0.25 memorised the corpus, best held-out 2.17-2.18
        # bits per byte near 10M tokens and then rising to 3.5; bytes at
        # 3e-3 reached 2.167 in a 30 s budget and were still falling. Aimed
        # at 2.10 within 60 s; not yet measured since the compiled-loss fix
        # doubled the throughput. No periodic checkpoints: their writes would
        # come out of the 60 s budget, and a SIGTERM still saves one.
        "single-gpu": {
            "vocab_size": 257,
            "n_layer": 6,
            "n_head": 6,
            "n_kv_head": 6,
            "d_model": 384,
            "d_ff": 1536,
            "seq_len": 256,
            "batch_size": 128,
            "lr": 3e-3,
            "warmup_steps": 100,
            "max_steps": 100000,
            "time_budget_s": 60.0,
            "dropout": 0.2,
            "weight_decay": 0.1,
            "eval_every": 250,
            "eval_tokens": None,
            "compile": True,
            "device": "cuda",
            "checkpoint_every": 0,
        },
        # GPT-2-small-sized (~124M parameters at a 49k vocabulary, sequence
        # 1024; SwiGLU's three matrices at d_ff 2048 hold what GPT-2's two
        # hold at 3072): the throughput / MFU configuration, per GPU.
        "multi-gpu": {
            "vocab_size": 32768,
            "n_layer": 12,
            "n_head": 12,
            "n_kv_head": 12,
            "d_model": 768,
            "d_ff": 2048,
            "seq_len": 1024,
            "batch_size": 16,
            "grad_accum": 4,
            "lr": 6e-4,
            "warmup_steps": 200,
            "max_steps": 5000,
            "weight_decay": 0.1,
            "eval_every": 500,
            "eval_tokens": 262144,
            "compile": True,
            "device": "cuda",
        },
    },
    "sft": {
        "cpu-quick": {
            "lora": True,
            "lora_r": 8,
            "lora_alpha": 16,
            "max_length": 256,
            "batch_size": 4,
            "grad_accum": 1,
            "lr": 2e-4,
            "epochs": 1.0,
            "max_steps": -1,
            "device": "cpu",
        },
        "single-gpu": {
            "lora": False,
            "max_length": 2048,
            "batch_size": 16,
            "grad_accum": 2,
            "lr": 2e-5,
            "epochs": 2.0,
            "max_steps": -1,
            "packing": False,
            "gradient_checkpointing": True,
            "device": "cuda",
        },
        "multi-gpu": {
            "lora": False,
            "max_length": 4096,
            "batch_size": 8,
            "grad_accum": 2,
            "lr": 2e-5,
            "epochs": 2.0,
            "max_steps": -1,
            "gradient_checkpointing": True,
            "device": "cuda",
        },
    },
    "reward": {
        # LoRA on every layer, the last 320 tokens of each text, a zero-init
        # score head, a quarter pass over the groups. On the HH harmless
        # pairs with SmolLM2-135M on 2 CPU cores: 0.633 held-out accuracy in
        # 7 minutes in fp32, and 0.608 in 6.4 as a job in bf16 (the same
        # held-out pairs; the training order differs); the whole pass gives
        # 0.669 in 34 minutes in fp32, 0.669 in 28 in bf16 (epochs 1.0), and
        # two passes 0.712 in 64 in bf16 (epochs 2.0). LoRA on the top 12
        # layers over the last 192 tokens gave 0.576 in 9.
        "cpu-quick": {
            "lora": True,
            "lora_r": 16,
            "lora_alpha": 32,
            "freeze_layers": 0,
            "max_length": 320,
            "groups_per_step": 8,
            "lr": 2e-4,
            "epochs": 0.25,
            "eval_fraction": 0.1,
            "device": "cpu",
        },
        "single-gpu": {
            "lora": False,
            "freeze_layers": 0,
            "max_length": 1024,
            "groups_per_step": 32,
            "lr": 1e-5,
            "epochs": 1.0,
            "eval_fraction": 0.05,
            "device": "cuda",
        },
        "multi-gpu": {
            "lora": False,
            "freeze_layers": 0,
            "max_length": 2048,
            "groups_per_step": 32,
            "lr": 1e-5,
            "epochs": 1.0,
            "eval_fraction": 0.05,
            "device": "cuda",
        },
    },
    "ppo": {
        "cpu-quick": {
            "lora": True,
            "lora_r": 8,
            "lora_alpha": 16,
            "max_steps": 30,
            "rollout_batch_size": 8,
            "minibatch_size": 4,
            "ppo_epochs": 2,
            "max_new_tokens": 32,
            "max_prompt_length": 192,
            "lr": 1e-4,
            "kl_coef": 0.05,
            "device": "cpu",
        },
        "single-gpu": {
            "lora": False,
            "max_steps": 500,
            "rollout_batch_size": 64,
            "minibatch_size": 16,
            "ppo_epochs": 4,
            "max_new_tokens": 128,
            "max_prompt_length": 512,
            "lr": 1e-6,
            "kl_coef": 0.05,
            "device": "cuda",
        },
        "multi-gpu": {
            "lora": False,
            "max_steps": 1000,
            "rollout_batch_size": 64,
            "minibatch_size": 16,
            "ppo_epochs": 4,
            "max_new_tokens": 256,
            "max_prompt_length": 1024,
            "lr": 1e-6,
            "kl_coef": 0.05,
            "device": "cuda",
        },
    },
    "dpo": {
        "cpu-quick": {
            "lora": True,
            "lora_r": 8,
            "lora_alpha": 16,
            "max_length": 256,
            "batch_size": 4,
            "lr": 5e-5,
            "beta": 0.1,
            "epochs": 1.0,
            "max_steps": -1,
            "device": "cpu",
        },
        "single-gpu": {
            "lora": False,
            "max_length": 1024,
            "batch_size": 16,
            "grad_accum": 2,
            "lr": 5e-7,
            "beta": 0.1,
            "epochs": 1.0,
            "max_steps": -1,
            "gradient_checkpointing": True,
            "device": "cuda",
        },
        "multi-gpu": {
            "lora": False,
            "max_length": 2048,
            "batch_size": 8,
            "grad_accum": 2,
            "lr": 5e-7,
            "beta": 0.1,
            "epochs": 1.0,
            "max_steps": -1,
            "gradient_checkpointing": True,
            "device": "cuda",
        },
    },
    # The candidate and the baseline answer every prompt of the set; the
    # judges score both. The chat's sampling (temperature 0.7, top_p 0.9).
    "evaluate": {
        "cpu-quick": {
            "max_new_tokens": 64,
            "batch_size": 8,
            "bootstrap_samples": 2000,
            "device": "cpu",
        },
        "single-gpu": {
            "max_new_tokens": 256,
            "batch_size": 32,
            "bootstrap_samples": 2000,
            "device": "cuda",
        },
    },
}

# KTO starts where DPO does, from the same base, and its loss is on the same
# scale (beta): the same hyper-parameters, kept in one place.
PRESETS["kto"] = {name: dict(values) for name, values in PRESETS["dpo"].items()}
