"""The scales an answer is labelled on, in one place: the label task's form,
the server's check of what it sends, the consensus per answer and the
exports all read SCALES.

OpenAssistant's answer labels, kept to what a reward model and a data
team use: four Likert scales from 1 to 5 (quality, helpfulness,
harmlessness, creativity) and two yes/no flags (personal data, spam).
Plain Python, no Django: the arithmetic is tested on its own.
"""

import math
from dataclasses import dataclass

LIKERT = "likert"
FLAG = "flag"
LIKERT_MIN, LIKERT_MAX = 1, 5


@dataclass(frozen=True)
class Scale:
    name: str
    label: str
    question: str
    kind: str  # LIKERT or FLAG
    low: str = ""  # what LIKERT_MIN means
    high: str = ""  # what LIKERT_MAX means


SCALES = (
    Scale("quality", "Quality", "How good is this answer, all things considered?", LIKERT, "very poor", "excellent"),
    Scale(
        "helpfulness",
        "Helpfulness",
        "Does it do what the user asked, and help them?",
        LIKERT,
        "not at all",
        "fully",
    ),
    Scale(
        "harmlessness",
        "Harmlessness",
        "Is it free of harm: nothing dangerous, hateful, deceptive or unsafe?",
        LIKERT,
        "harmful",
        "harmless",
    ),
    Scale(
        "creativity", "Creativity", "How original is it, beyond the obvious answer?", LIKERT, "rote", "very original"
    ),
    Scale(
        "contains_pii",
        "Contains personal data",
        "Does it reveal personal data of a real person (address, phone number, e-mail, ID number)?",
        FLAG,
    ),
    Scale("spam", "Spam", "Is it spam: advertising, nonsense, off-topic, or the prompt copied back?", FLAG),
)
SCALE_NAMES = tuple(scale.name for scale in SCALES)
LIKERT_VALUES = tuple(range(LIKERT_MIN, LIKERT_MAX + 1))

# The consensus that sends an answer to the moderators: a majority saying
# it holds personal data or is spam, or a mean harmlessness this low.
HARMFUL_MEAN = 2.0


def values_clean(raw) -> dict:
    """The labels of one answer from `raw` ({scale: value}), every scale
    present: a whole number LIKERT_MIN..LIKERT_MAX on a Likert scale, a
    boolean on a yes/no one. Raises ValueError naming the first bad one."""
    if not isinstance(raw, dict):
        raise ValueError("the labels must map each scale to its value")
    unknown = set(raw) - set(SCALE_NAMES)
    if unknown:
        raise ValueError(f"unknown scale {sorted(unknown)[0]!r}; the scales are {', '.join(SCALE_NAMES)}")
    clean = {}
    for scale in SCALES:
        if raw.get(scale.name) is None:
            raise ValueError(f"{scale.label} has no answer")
        value = raw[scale.name]
        if scale.kind == FLAG:
            if not isinstance(value, bool):
                raise ValueError(f"{scale.label} is yes or no")
        elif isinstance(value, bool) or not isinstance(value, int) or not LIKERT_MIN <= value <= LIKERT_MAX:
            raise ValueError(f"{scale.label} is a whole number from {LIKERT_MIN} to {LIKERT_MAX}")
        clean[scale.name] = value
    return clean


def labels_consensus(labels: list[dict]) -> dict:
    """Per scale, what the (clean) labels of one answer say together.

    Likert: {"mean", "spread", "min", "max", "count"}, `spread` the
    population standard deviation (0 when all agree; at most 2 on 1..5).
    Yes/no: {"share", "majority", "spread", "count"}, `share` the fraction
    saying yes, `majority` true when more than half do (a tie is no: a flag
    needs a majority), `spread` the fraction in the minority (0 when all
    agree, 0.5 at a tie). Unweighted: every annotator counts once, as in
    OpenAssistant's label aggregation."""
    result = {}
    for scale in SCALES:
        values = [label[scale.name] for label in labels]
        count = len(values)
        if not count:
            continue
        if scale.kind == FLAG:
            share = sum(values) / count
            result[scale.name] = {
                "share": share,
                "majority": share > 0.5,
                "spread": min(share, 1 - share),
                "count": count,
            }
        else:
            mean = sum(values) / count
            result[scale.name] = {
                "mean": mean,
                "spread": math.sqrt(sum((v - mean) ** 2 for v in values) / count),
                "min": min(values),
                "max": max(values),
                "count": count,
            }
    return result


def moderation_reasons(consensus: dict) -> list[str]:
    """Why a consensus sends its answer to the moderators, in words; empty
    when it does not."""
    reasons = []
    for scale in SCALES:
        said = consensus.get(scale.name)
        if said is None:
            continue
        if scale.kind == FLAG and said["majority"]:
            reasons.append(f"labelled {scale.label.lower()} by a majority")
        elif scale.name == "harmlessness" and said["mean"] <= HARMFUL_MEAN:
            reasons.append(f"mean harmlessness {said['mean']:.1f} of {LIKERT_MAX}")
    return reasons
