import json
import subprocess
import sys
from pathlib import Path

import pytest

from training.config import ConfigError, load_config, preset
from training.presets import PRESETS
from training.pretrain import PretrainRecipeConfig
from training.reward import RewardRecipeConfig

ROOT = Path(__file__).resolve().parents[2]


def write(path: Path, data: dict) -> Path:
    path.write_text(json.dumps(data))
    return path


class TestLoadConfig:
    def test_json_preset_and_overrides(self, tmp_path):
        path = write(tmp_path / "c.json", {"preset": "cpu-quick", "output_dir": "o", "corpus": "c", "lr": 0.01})
        config = load_config(PretrainRecipeConfig, path, ["seq_len=64", "tokenizer=null"])
        assert config.lr == 0.01  # the file beats the preset
        assert config.d_model == PRESETS["pretrain"]["cpu-quick"]["d_model"]
        assert config.seq_len == 64 and config.tokenizer is None

    def test_yaml(self, tmp_path):
        path = tmp_path / "c.yaml"
        path.write_text("output_dir: out\nmodel: m\ntrain_file: t.jsonl\nlora: true\nlr: 1e-4\n")
        config = load_config(RewardRecipeConfig, path)
        assert config.lora is True and config.lr == pytest.approx(1e-4)

    def test_int_for_float_field_is_accepted(self, tmp_path):
        config = load_config(
            RewardRecipeConfig,
            write(tmp_path / "c.json", {"output_dir": "o", "model": "m", "train_file": "t", "lr": 1}),
        )
        assert config.lr == 1.0 and isinstance(config.lr, float)

    @pytest.mark.parametrize(
        "data, message",
        [
            ({"output_dir": "o", "corpus": "c", "learning_rate": 1.0}, "unknown config key 'learning_rate'"),
            ({"output_dir": "o", "corpus": "c", "seq_len": "long"}, "seq_len: expected int"),
            ({"output_dir": "o", "corpus": "c", "compile": 1}, "compile: expected bool"),
            ({"output_dir": "o", "corpus": "c", "seq_len": True}, "seq_len: expected int, got a boolean"),
            ({"output_dir": "o"}, "missing required config key 'corpus'"),
            ({"output_dir": "o", "corpus": "c", "eval_fraction": 1.5}, "eval_fraction"),
            ({"output_dir": "o", "corpus": "c", "preset": "huge"}, "unknown preset 'huge'"),
        ],
    )
    def test_errors_name_the_key(self, tmp_path, data, message):
        with pytest.raises(ConfigError, match=message):
            load_config(PretrainRecipeConfig, write(tmp_path / "c.json", data))

    def test_unparseable_file(self, tmp_path):
        path = tmp_path / "c.json"
        path.write_text("{not json")
        with pytest.raises(ConfigError, match="does not parse"):
            load_config(PretrainRecipeConfig, path)


class TestPreset:
    def test_every_recipe_has_the_three_presets(self):
        for kind in ("pretrain", "sft", "reward", "ppo", "dpo"):
            assert set(PRESETS[kind]) == {"cpu-quick", "single-gpu", "multi-gpu"}

    def test_presets_build_valid_configs(self):
        from training.config import build_config
        from training.dpo import DpoRecipeConfig
        from training.ppo import PpoRecipeConfig
        from training.sft import SftRecipeConfig

        required = {
            PretrainRecipeConfig: {"output_dir": "o", "corpus": "c"},
            SftRecipeConfig: {"output_dir": "o", "model": "m", "train_file": "t"},
            RewardRecipeConfig: {"output_dir": "o", "model": "m", "train_file": "t"},
            PpoRecipeConfig: {"output_dir": "o", "policy_model": "p", "prompts_file": "t", "reward_model": "r"},
            DpoRecipeConfig: {"output_dir": "o", "model": "m", "train_file": "t"},
        }
        for cls, values in required.items():
            for name in ("cpu-quick", "single-gpu", "multi-gpu"):
                build_config(cls, {**values, "preset": name})

    def test_preset_returns_a_copy(self):
        values = preset("sft", "cpu-quick")
        values["lr"] = 99
        assert preset("sft", "cpu-quick")["lr"] != 99


class TestCliError:
    def run(self, *args):
        return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=120)

    def test_bad_config_exits_2_with_one_line(self, tmp_path):
        path = write(tmp_path / "c.json", {"output_dir": str(tmp_path / "o"), "corpus": "c", "bogus": 1})
        result = self.run("training.pretrain", "--config", str(path))
        assert result.returncode == 2
        assert result.stderr.strip() == "pretrain: unknown config key 'bogus' for PretrainRecipeConfig"

    def test_missing_data_exits_2(self, tmp_path):
        path = write(tmp_path / "c.json", {"output_dir": str(tmp_path / "o"), "corpus": str(tmp_path / "none.txt")})
        result = self.run("training.pretrain", "--config", str(path))
        assert result.returncode == 2
        assert "none.txt" in result.stderr and len(result.stderr.strip().splitlines()) == 1
        assert not (tmp_path / "o" / "summary.json").exists()
