"""Presets of the stand-in recipes (training.config.preset's interface)."""

PRESETS = {
    "cpu-quick": {"max_steps": 6, "step_seconds": 0.2, "learning_rate": 0.001},
    "single-gpu": {"max_steps": 100, "step_seconds": 0.05, "learning_rate": 0.0003},
    "multi-gpu": {"max_steps": 4, "step_seconds": 0.2, "learning_rate": 0.0003},  # sft only
}


def preset(kind: str, name: str) -> dict:
    if name not in PRESETS or (name == "multi-gpu" and kind != "sft"):
        raise ValueError(f"unknown preset {name!r} for {kind}")
    return dict(PRESETS[name])
