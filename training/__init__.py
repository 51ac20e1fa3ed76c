"""Training recipes of the InstructGPT pipeline: pretrain, sft, reward, ppo,
dpo, kto. Plain Python (no Django): the jobs app runs each as a subprocess,
`python -m training.<kind> --config FILE`, and reads what it writes in its
output directory (metrics.jsonl, summary.json, a Hugging Face model)."""
