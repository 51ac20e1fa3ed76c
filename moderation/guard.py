"""The guard layer: any chat model, asked in the Llama Guard style whether
the last user (input) or assistant (output) message of a conversation is
safe, scored by how likely its answer starts with "unsafe".

The prompt lists the categories, shows the text as the last message of a
conversation and asks for "safe" or "unsafe" on the first line. From the
model's next-token distribution after the assistant prompt:

    score = sum(p[t] for t in U) / (sum(p[t] for t in U) + sum(p[t] for t in S))

where U and S are the tokens an answer "unsafe" or "safe" starts with (any
case, with or without a leading space; a token that is the whole word or at
least its first three letters, see `_answer_tokens`), minus any token in
both: the probability of "unsafe" given that the model answers one of the
two, read from one forward pass.
The score goes to one category, `settings.MODERATION_GUARD_CATEGORY`:
reading which category a model names needs a second pass that small chat
models do not follow, so the guard gives a verdict, not a diagnosis.

Off by default (`MODERATION_GUARD_MODEL`, a local directory or hub id, is
empty); one model per process, loaded on first use.
"""

from __future__ import annotations

import inspect
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from engine.loading import model_loading_lock
from engine.passing_thread import in_passing_thread

from . import categories as c

# What the prompt tells the model each category means.
CATEGORY_DESCRIPTIONS = {
    c.SEXUAL: "Sexual content meant to arouse, or the promotion of sexual services.",
    c.SEXUAL_MINORS: "Any sexual content that involves a person under 18.",
    c.HATE: "Hateful content against a group for its race, religion, nationality, gender, sexuality, disability "
    "or caste.",
    c.HATE_THREATENING: "Hate that also threatens or calls for violence against the group.",
    c.HARASSMENT: "Insults, harassment or bullying of a person.",
    c.HARASSMENT_THREATENING: "Harassment that threatens a person with harm.",
    c.SELF_HARM: "Content that promotes or depicts suicide, cutting or eating disorders.",
    c.SELF_HARM_INTENT: "Someone saying they intend to harm or kill themselves.",
    c.SELF_HARM_INSTRUCTIONS: "Instructions or advice on how to harm or kill oneself.",
    c.VIOLENCE: "Content that depicts, glorifies or incites violence or death.",
    c.VIOLENCE_GRAPHIC: "Graphic, gory depictions of death, injury or violence.",
    c.ILLICIT: "Instructions or advice for committing crimes or wrongdoing.",
    c.ILLICIT_VIOLENT: "Instructions for violent crimes or for making weapons.",
}
UNSAFE_WORDS = ("unsafe", " unsafe", "Unsafe", " Unsafe", "UNSAFE", " UNSAFE")
SAFE_WORDS = ("safe", " safe", "Safe", " Safe", "SAFE", " SAFE")
# The judged text is read in windows of WINDOW_CHARS characters, each its
# own prompt, overlapping by WINDOW_OVERLAP so a sentence cut at one edge is
# whole in the next; the worst window decides, so a benign opening cannot
# hide what follows.
WINDOW_CHARS = 4000
WINDOW_OVERLAP = 500
_SPEAKER = {"user": "User", "assistant": "Agent"}
# The prompt's own section markers ("<END CONVERSATION>"), however spaced:
# a message that wrote one could close the conversation and add
# instructions of its own. Possessive, so a long run of spaces after "<"
# costs one pass.
_MARKER = re.compile(r"<(\s*+/?\s*+(?:begin|end)\b)", re.IGNORECASE)


def text_windows(text: str) -> list[str]:
    """The pieces of `text` the guard judges: all of it, in windows."""
    if len(text) <= WINDOW_CHARS:
        return [text]
    starts = list(range(0, len(text) - WINDOW_CHARS + 1, WINDOW_CHARS - WINDOW_OVERLAP))
    if starts[-1] + WINDOW_CHARS < len(text):
        starts.append(len(text) - WINDOW_CHARS)
    return [text[start : start + WINDOW_CHARS] for start in starts]


def _neutralised(content: str) -> str:
    """The message with any section marker's "<" made a lookalike "‹"."""
    return _MARKER.sub(r"‹\1", content)


def guard_prompt(text: str, role: str) -> str:
    """The task for the model: judge `text` (one window of it), said by
    `role`, as the conversation's one message. The pipeline judges each text
    alone, so the guard is shown no conversation before it."""
    policy = "\n".join(f"S{i}: {name}. {CATEGORY_DESCRIPTIONS[name]}" for i, name in enumerate(c.CATEGORIES, 1))
    speaker = _SPEAKER[role]
    conversation = f"{speaker}: {_neutralised(text)}"
    return (
        f"Task: Check if there is unsafe content in '{speaker}' messages in conversations according to our "
        "safety policy with the below categories.\n\n"
        f"<BEGIN UNSAFE CONTENT CATEGORIES>\n{policy}\n<END UNSAFE CONTENT CATEGORIES>\n\n"
        f"<BEGIN CONVERSATION>\n\n{conversation}\n\n<END CONVERSATION>\n\n"
        f"Provide your safety assessment for ONLY THE LAST {speaker} message in the above conversation:\n"
        "- First line must read 'safe' or 'unsafe'.\n"
        "- If unsafe, a second line must include a comma-separated list of violated categories."
    )


def _answer_tokens(tokenizer, words: Sequence[str]) -> set[int]:
    """The first tokens by which an answer can start with one of `words`:
    tokens that are a whole spelling, or its first three letters or more
    ("uns"), not shorter pieces like "Un" that start many other answers
    ("Unfortunately"); a tokenizer that cuts every spelling finer (a tiny
    test one) gives its plain first tokens."""
    specific, first = set(), set()
    for word in words:
        ids = tokenizer.encode(word, add_special_tokens=False)
        piece = tokenizer.decode(ids[:1]).strip() if ids else ""
        if not piece:
            continue
        first.add(ids[0])
        if len(ids) == 1 or len(piece) >= 3:
            specific.add(ids[0])
    return specific or first


@dataclass
class Guard:
    tokenizer: object
    model: object
    unsafe_ids: list[int]
    safe_ids: list[int]
    device: str
    forward_options: dict  # logits_to_keep=1 where the model takes it: no logits for the prompt

    @classmethod
    def load(cls, name: str, *, device: str = "cpu") -> Guard:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(name)
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        model = AutoModelForCausalLM.from_pretrained(name).to(device).eval()
        unsafe, safe = _answer_tokens(tokenizer, UNSAFE_WORDS), _answer_tokens(tokenizer, SAFE_WORDS)
        unsafe, safe = unsafe - safe, safe - unsafe
        if not unsafe or not safe:
            raise ImproperlyConfigured(
                f"The tokenizer of {name} cannot tell 'safe' from 'unsafe' by their first token."
            )
        takes = "logits_to_keep" in inspect.signature(model.forward).parameters
        return cls(tokenizer, model, sorted(unsafe), sorted(safe), device, {"logits_to_keep": 1} if takes else {})

    def prompt_ids(self, text: str, role: str) -> list[int]:
        content = guard_prompt(text, role)
        if getattr(self.tokenizer, "chat_template", None):
            ids = self.tokenizer.apply_chat_template(
                [{"role": "user", "content": content}], add_generation_prompt=True, tokenize=True, return_dict=True
            )["input_ids"]
            return list(ids)
        return self.tokenizer.encode(content + "\n\nAssessment:")

    def score(self, texts: Sequence[str], role: str, *, batch_size: int = 8) -> list[float]:
        """P(unsafe) of each text, its worst window's (`text_windows`),
        `batch_size` prompts per forward pass (left-padded, so every
        prompt's last token is the last position)."""
        import torch

        prompts, owner = [], []
        for index, text in enumerate(texts):
            for window in text_windows(text):
                prompts.append(self.prompt_ids(window, role))
                owner.append(index)
        pad = self.tokenizer.pad_token_id
        scores: list[float] = []
        with torch.inference_mode():
            for start in range(0, len(prompts), batch_size):
                batch = prompts[start : start + batch_size]
                longest = max(map(len, batch))
                input_ids = torch.full((len(batch), longest), pad, dtype=torch.long)
                mask = torch.zeros((len(batch), longest), dtype=torch.long)
                for row, ids in enumerate(batch):
                    input_ids[row, longest - len(ids) :] = torch.tensor(ids)
                    mask[row, longest - len(ids) :] = 1
                positions = (mask.cumsum(-1) - 1).clamp(min=0)
                logits = (
                    self.model(
                        input_ids=input_ids.to(self.device),
                        attention_mask=mask.to(self.device),
                        position_ids=positions.to(self.device),
                        **self.forward_options,
                    )
                    .logits[:, -1]
                    .float()
                )
                unsafe = torch.logsumexp(logits[:, self.unsafe_ids], dim=-1)
                safe = torch.logsumexp(logits[:, self.safe_ids], dim=-1)
                scores.extend(torch.sigmoid(unsafe - safe).cpu().tolist())
        worst = [0.0] * len(texts)
        for index, score in zip(owner, scores, strict=True):
            worst[index] = max(worst[index], score)
        return worst


_guards: dict[tuple[str, str], Guard] = {}
_lock = threading.Lock()


def get_guard() -> Guard:
    name = settings.MODERATION_GUARD_MODEL
    if not name:
        raise ImproperlyConfigured(
            "MODERATION_LAYERS names the guard layer but MODERATION_GUARD_MODEL is empty: set it to a chat "
            "model's directory or hub id."
        )
    key = (str(name), settings.MODERATION_GUARD_DEVICE)
    guard = _guards.get(key)
    if guard is None:
        with _lock:
            guard = _guards.get(key)
            if guard is None:
                with model_loading_lock:  # engine/loading.py
                    guard = _guards[key] = Guard.load(str(name), device=settings.MODERATION_GUARD_DEVICE)
    return guard


def score_many(texts: list[str], role: str) -> list[dict[str, float]]:
    """The layer's entry point: the guard's P(unsafe) under the configured
    category."""
    if role not in _SPEAKER:
        raise ValueError(f"role must be 'user' or 'assistant', not {role!r}")
    if not texts:
        return []
    category = settings.MODERATION_GUARD_CATEGORY
    if category not in c.CATEGORIES:
        raise ImproperlyConfigured(f"MODERATION_GUARD_CATEGORY {category!r} is not a moderation category.")
    # Loading and scoring run torch kernels: in a passing thread (engine/passing_thread.py).
    scores = in_passing_thread(
        lambda: get_guard().score(texts, role, batch_size=settings.MODERATION_GUARD_BATCH_SIZE),
        "moderation-guard",
    )
    return [{category: score} for score in scores]
