"""The guidelines annotators read until an admin writes their own (a
labeling.models.Guidelines row per task kind)."""

DEFAULT_GUIDELINES = {
    "demonstration": """\
**Write the answer you would want the assistant to give.**

- Answer the *last* user turn; the earlier turns are context.
- Be correct first, then helpful, then brief. Say so when you are unsure.
- Use Markdown where it helps: lists for steps, code blocks for code.
- Refuse only what is harmful, and then say what you can help with.
- Skip the task (with a reason) when the prompt needs expertise you lack.
""",
    "ranking": """\
**Order the answers best first.**

- Judge by: correct, harmless, follows the instructions, helpful, clear.
- Tie answers that are equally good (or equally bad).
- Flag problems even on the answers you rank high.
- Choose *none is acceptable* when no answer should be shown to a user;
  write a better answer if you can.
""",
}
