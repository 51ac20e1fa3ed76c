"""Stand-in recipes for the jobs tests, keeping the recipe contract (see
training/): `python -m tests.jobs.fake_training.<kind> --config FILE`
writes metrics.jsonl line by line, a model directory (a copy of its input
model) and summary.json; stops at the next step on SIGTERM and exits 0;
exits 1 with a one-line message on a line containing BAD_EXAMPLE; kills
itself (SIGKILL, as the OOM killer would) after a step on KILL_ME; ignores
SIGTERM on IGNORE_TERM; exits
with a message on an unknown config key. Under torchrun only rank 0
writes. Fast and deterministic where the real recipes are neither."""
