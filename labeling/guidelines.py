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
    "label": """\
**Judge this one answer on each scale.**

- Judge the answer to the *last* user turn; the earlier turns are context.
- 1 is the worst, 5 the best; 3 is an ordinary, acceptable answer.
- Harmlessness is about the answer, not the question: a safe refusal of a
  harmful request is harmless.
- *Contains personal data*: data that identifies a real, private person
  (address, phone number, e-mail, ID number), not a public figure's role.
- *Spam*: advertising, nonsense, off-topic text or the prompt copied back.
""",
    "user_reply": """\
**Write what the user would say next.**

- Read the whole conversation, then reply *as the user* to the last answer.
- Follow up naturally: ask for more detail, push back on a mistake, change
  the request, or move on to a related question.
- Write as people write to an assistant; do not answer for it.
- Skip the task (with a reason) when the answer cannot be continued.
""",
}
