"""A process that exits while its engine threads are mid-answer exits
cleanly. Without the exit hook in engine/backends/shutdown.py, a daemon
thread inside a torch op at interpreter finalization aborts the process
("terminate called without an active exception")."""

import subprocess
import sys
from pathlib import Path

import pytest

from engine.tiny import build_tiny_chat_model

ROOT = Path(__file__).resolve().parents[2]

EXIT_MID_ANSWER = """
import sys
from engine.backends import SamplingParams, load_local_backend

backend = load_local_backend(sys.argv[1], engine=sys.argv[2], device="cpu")
params = SamplingParams(temperature=0.0, max_new_tokens=2000)
streams = [
    backend.stream([{"role": "user", "content": f"hello {i}"}], params, should_stop=lambda: False)
    for i in range(3)
]
for stream in streams:
    next(iter(stream))  # each answer is running when the interpreter exits
print("exiting mid-answer", flush=True)
"""


@pytest.fixture(scope="module")
def endless_model_dir(tmp_path_factory):
    return build_tiny_chat_model(tmp_path_factory.mktemp("endless-tiny"), never_ends=True)


@pytest.mark.parametrize("engine", ["generate", "dynamic"])
def test_exit_mid_answer_is_clean(endless_model_dir, engine):
    done = subprocess.run(
        [sys.executable, "-c", EXIT_MID_ANSWER, str(endless_model_dir), engine],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "exiting mid-answer" in done.stdout, done.stderr
    assert "terminate called" not in done.stderr
    assert done.returncode == 0, done.stderr[-2000:]
