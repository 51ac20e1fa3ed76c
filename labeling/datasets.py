"""Dataset snapshots, all of what one is: the filters that choose its items,
the rows it holds, freezing them into a file whose hash is stored, reading
them back, and writing them in the formats trainers read.

A snapshot's file is canonical JSONL (sorted keys, one item a line, in id
order) under DATA_DIR/datasets/, written once; nothing done later to
prompts, rankings or consensus changes it, and a file whose bytes no longer
have the stored hash is refused.

Export formats, one JSON object a line (TRL's dataset formats,
conversational form):

- sft-messages: {"messages": [...prompt, {"role": "assistant", ...}]}
- sft-prompt-completion: {"prompt": [...], "completion": [{"role": "assistant", ...}]}
- preference: {"prompt": [...], "chosen": [{"role": "assistant", ...}],
  "rejected": [...], "margin": 1.5, "group_id": "task-12"}: every pair of
  a ranking's candidates that are not tied, better first; `margin` is their
  consensus score difference and `group_id` names the ranking, so a trainer
  can keep its C(K,2) pairs in one split and one batch. A candidate the
  consensus flagged harmful, or a person's answer moderation has not let
  through (flagged `held_by_moderation`), is never `chosen` (its pairs as
  `rejected` stay: they teach what to avoid).
- oasst: OpenAssistant message trees, {"message_tree_id", "prompt": node},
  a node {"text", "role": "prompter"|"assistant", "replies": [...]},
  ranked replies with "rank" (0 best); a system message, which the format
  has no node for, goes in "system". labeling.imports reads them back.
  Rankings and demonstrations only: a tree has no place for a rating.
- labels (answer labels): {"prompt": [...], "completion": [{"role":
  "assistant", ...}], "num_labels": 3, "quality": 4.3, "quality_spread":
  0.47, ..., "contains_pii": 0.0, "spam": 0.33, "spam_spread": 0.33,
  "annotator_labels": [{"annotator": "a1b2...", "quality": 4, ...,
  "spam": false}]}: one answer a row, its consensus per scale of
  labeling.label_scales (the mean on a 1..5 scale, the share saying yes on
  a yes/no one, and the spread) and every annotator's own labels, the
  annotator a pseudonym stable across snapshots of one site.
- oasst (conversation trees) as above, the trees user replies grew: under
  an answer, the prompter turns that continue it, each with its answers;
  an answer carries its "rank" in its ranking's consensus where it was
  ranked and its "labels" consensus where it was labelled.
- oasst-messages (conversation trees): the same trees flat, one message a
  row, as OpenAssistant's oasst1 and oasst2 datasets are published:
  {"message_id", "parent_id", "message_tree_id", "role", "text", "rank"}.
- unpaired (judged chat answers, or rankings): {"prompt": [...],
  "completion": [{"role": "assistant", ...}], "label": true}, TRL's unpaired
  preference format that KTO reads; `label` true for a thumbs up, false for
  a thumbs down. From a ranking, its consensus-best answers are true and
  its worst false (see _judged_from_ranking), so KTO can learn from the
  same rankings as the reward model and DPO.
"""

import hashlib
import hmac
import json
import os
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import TextIO

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Max, QuerySet

from core.errors import UserError

from .batches import batches
from .consensus import preference_pairs
from .consensus_store import quality_refresh
from .demonstration_moderation import candidates_held_back, demonstrations_usable
from .from_chat import judged_answer_items
from .label_scales import FLAG, SCALES, labels_consensus
from .models import (
    FLAG_HARMFUL,
    FLAG_HELD_BY_MODERATION,
    NEVER_CHOSEN_FLAGS,
    AnswerLabel,
    Assignment,
    Candidate,
    Consensus,
    DatasetSnapshot,
    Demonstration,
    Prompt,
    Task,
    TaskCandidate,
)
from .selectors import rankings_agreement

# --- What a snapshot holds --------------------------------------------------

# The tasks whose work is a written answer, which SFT snapshots hold.
SFT_TASK_KINDS = (Task.Kind.DEMONSTRATION, Task.Kind.RANKING)

_COMMON_FILTERS = {"sources", "created_from", "created_to", "import_id"}
SNAPSHOT_FILTERS = {
    DatasetSnapshot.Kind.SFT: _COMMON_FILTERS | {"task_kind"},
    DatasetSnapshot.Kind.PREFERENCE: _COMMON_FILTERS | {"min_agreement", "arena_votes"},
    # All from chat, none from an import: the pool's sources say nothing of them.
    DatasetSnapshot.Kind.FEEDBACK: {"created_from", "created_to", "model_version"},
    DatasetSnapshot.Kind.LABELS: _COMMON_FILTERS,
    DatasetSnapshot.Kind.CONVERSATIONS: _COMMON_FILTERS,
}


def snapshot_filters_clean(*, kind: str, filters: dict) -> dict:
    """The filters, checked, with their values in canonical form; raises
    ValueError naming the first bad one.

    - sources: list of Prompt.Source values
    - created_from, created_to: ISO dates, both included; the item's date
      is its task's (preference, labels), demonstration's (SFT), rating's
      (feedback) or root prompt's (conversations)
    - import_id: only what that import brought (its ranked pairs)
    - min_agreement (preference): 0..1; an item needs at least two rankings
      to have an agreement, so imported pairs never pass it
    - task_kind (SFT): "demonstration" (demonstration tasks) or "ranking"
      (better answers written while ranking)
    - arena_votes (preference): true takes single arena votes too, which
      no annotator checked (labeling.from_chat.arena_pair_record)
    - model_version (feedback): the id of the model version whose answers
      were rated
    """
    if kind not in SNAPSHOT_FILTERS:
        raise ValueError(f"unknown dataset kind {kind!r}")
    unknown = set(filters) - SNAPSHOT_FILTERS[kind]
    if unknown:
        raise ValueError(f"{', '.join(sorted(unknown))} cannot filter a {kind} dataset")
    clean = {}
    if "sources" in filters:
        sources = filters["sources"]
        if not isinstance(sources, list) or not sources or not set(sources) <= set(Prompt.Source.values):
            raise ValueError(f"sources must be a list of {', '.join(Prompt.Source.values)}")
        clean["sources"] = sorted(set(sources))
    for key in ("created_from", "created_to"):
        if key in filters:
            try:
                clean[key] = date.fromisoformat(str(filters[key])).isoformat()
            except ValueError:
                raise ValueError(f"{key} must be a date (YYYY-MM-DD)") from None
    if "import_id" in filters:
        if isinstance(filters["import_id"], bool) or not isinstance(filters["import_id"], int):
            raise ValueError("import_id must be a whole number")
        clean["import_id"] = filters["import_id"]
    if "min_agreement" in filters:
        value = filters["min_agreement"]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise ValueError("min_agreement must be a number from 0 to 1")
        clean["min_agreement"] = float(value)
    if "task_kind" in filters:
        if filters["task_kind"] not in SFT_TASK_KINDS:
            raise ValueError(f"task_kind must be one of {', '.join(SFT_TASK_KINDS)}")
        clean["task_kind"] = filters["task_kind"]
    if "model_version" in filters:
        if isinstance(filters["model_version"], bool) or not isinstance(filters["model_version"], int):
            raise ValueError("model_version must be a whole number")
        clean["model_version"] = filters["model_version"]
    if "arena_votes" in filters:
        if not isinstance(filters["arena_votes"], bool):
            raise ValueError("arena_votes must be true or false")
        if filters["arena_votes"]:
            clean["arena_votes"] = True
    return clean


def _dated(queryset: QuerySet, filters: dict) -> QuerySet:
    if "created_from" in filters:
        queryset = queryset.filter(created_at__date__gte=filters["created_from"])
    if "created_to" in filters:
        queryset = queryset.filter(created_at__date__lte=filters["created_to"])
    return queryset


def sft_items(*, filters: dict) -> list[dict]:
    """Demonstrations matching the (clean) filters that moderation let
    through, oldest first, as snapshot rows: the prompt's messages and the
    answer."""
    demonstrations = _dated(demonstrations_usable(Demonstration.objects.all()), filters).select_related(
        "prompt", "assignment__task"
    )
    if "sources" in filters:
        demonstrations = demonstrations.filter(prompt__source__in=filters["sources"])
    if "import_id" in filters:
        demonstrations = demonstrations.filter(prompt__prompt_import_id=filters["import_id"])
    if "task_kind" in filters:
        demonstrations = demonstrations.filter(assignment__task__kind=filters["task_kind"])
    return [
        {
            "id": f"demonstration-{d.pk}",
            "prompt_id": d.prompt_id,
            "source": d.prompt.source,
            "task_kind": d.assignment.task.kind if d.assignment else None,
            "created_at": d.created_at.isoformat(),
            "messages": d.prompt.messages,
            "completion": d.content,
        }
        for d in demonstrations.order_by("id")
    ]


def preference_items(*, filters: dict) -> list[dict]:
    """Ranking tasks with a finished consensus matching the (clean)
    filters, oldest first, as snapshot rows: the prompt's messages and every
    candidate with its consensus rank (0 best; equal ranks tie), score and
    flags.

    Finished: every annotation the task asked for is in (imported tasks ask
    for none). Left out: items the weighted majority found none acceptable,
    items whose candidates all tie (they hold no preference), and single
    arena votes unless `arena_votes` asks for them."""
    tasks = (
        _dated(Task.objects.filter(kind=Task.Kind.RANKING, consensus__isnull=False), filters)
        .filter(consensus__num_rankings__gte=F("required_annotations"), consensus__none_acceptable=False)
        .select_related("prompt", "consensus")
    )
    if "sources" in filters:
        tasks = tasks.filter(prompt__source__in=filters["sources"])
    if "import_id" in filters:
        tasks = tasks.filter(prompt_import_id=filters["import_id"])
    if "min_agreement" in filters:
        tasks = tasks.filter(consensus__agreement__gte=filters["min_agreement"])
    if not filters.get("arena_votes"):
        tasks = tasks.exclude(consensus__method=Consensus.Method.ARENA)
    tasks = [task for task in tasks.order_by("id") if len(task.consensus.groups) >= 2]
    texts: dict[int, dict[int, str]] = {}
    for some in batches(tasks):
        links = TaskCandidate.objects.filter(task__in=some).values_list("task_id", "candidate_id", "candidate__text")
        for task_id, candidate_id, text in links:
            texts.setdefault(task_id, {})[candidate_id] = text
    held = set()
    for some in batches([pk for by_candidate in texts.values() for pk in by_candidate]):
        held |= candidates_held_back(some)
    rows = []
    for task in tasks:
        consensus = task.consensus
        rank = {pk: index for index, group in enumerate(consensus.groups) for pk in group}
        rows.append(
            {
                "id": f"task-{task.pk}",
                "prompt_id": task.prompt_id,
                "source": task.prompt.source,
                "created_at": task.created_at.isoformat(),
                "messages": task.prompt.messages,
                "method": consensus.method,
                "agreement": consensus.agreement,
                "num_rankings": consensus.num_rankings,
                "candidates": [
                    {
                        "id": pk,
                        "text": texts[task.pk][pk],
                        "rank": rank[pk],
                        "score": consensus.scores[str(pk)],
                        "flags": consensus.flags.get(str(pk), []) + ([FLAG_HELD_BY_MODERATION] if pk in held else []),
                    }
                    for pk in sorted(rank, key=lambda pk: (rank[pk], pk))
                ],
            }
        )
    return rows


def annotator_pseudonym(annotator_id: int) -> str:
    """The name an annotator has in exported rows: the same in every
    snapshot of this site (keyed by SECRET_KEY), and no account id."""
    key = settings.SECRET_KEY.encode("utf-8")
    return hmac.new(key, f"annotator:{annotator_id}".encode(), hashlib.sha256).hexdigest()[:16]


def label_items(*, filters: dict) -> list[dict]:
    """Answers whose label task has every annotation it asked for, matching
    the (clean) filters, oldest task first, as snapshot rows: the prompt's
    messages, the answer, each annotator's labels and their consensus
    (labeling.label_scales.labels_consensus, computed from exactly these
    labels)."""
    tasks = _dated(Task.objects.filter(kind=Task.Kind.LABEL), filters).select_related("prompt")
    if "sources" in filters:
        tasks = tasks.filter(prompt__source__in=filters["sources"])
    if "import_id" in filters:
        tasks = tasks.filter(prompt__prompt_import_id=filters["import_id"])
    tasks = list(tasks.order_by("id"))
    labels: dict[int, list] = {}
    answers = {}
    for some in batches(tasks):
        rows = (
            AnswerLabel.objects.filter(
                assignment__task__in=some, assignment__state=Assignment.State.SUBMITTED, gold_answer__isnull=True
            )
            .select_related("candidate", "candidate__model_version", "assignment")
            .order_by("id")
        )
        for label in rows:
            labels.setdefault(label.assignment.task_id, []).append(label)
            answers[label.assignment.task_id] = label.candidate
    items = []
    for task in tasks:
        done = labels.get(task.pk, [])
        if not done or len(done) < task.required_annotations:
            continue
        answer = answers[task.pk]
        items.append(
            {
                "id": f"answer-{answer.pk}",
                "prompt_id": task.prompt_id,
                "source": task.prompt.source,
                "created_at": task.created_at.isoformat(),
                "messages": task.prompt.messages,
                "completion": answer.text,
                "origin": answer.origin,
                "model_version": answer.model_version.name if answer.model_version else None,
                "num_labels": len(done),
                "consensus": labels_consensus([label.values for label in done]),
                "labels": [
                    {"annotator": annotator_pseudonym(label.assignment.annotator_id), "values": label.values}
                    for label in done
                ],
            }
        )
    return items


def _ranked(prompt_ids: list[int]) -> dict[int, dict[int, int]]:
    """Per prompt, each answer's rank (0 best) in the consensus of its
    newest finished ranking."""
    ranks: dict[int, dict[int, int]] = {}
    for some in batches(prompt_ids):
        finished = (
            Consensus.objects.filter(task__kind=Task.Kind.RANKING, task__prompt_id__in=some)
            .filter(num_rankings__gte=F("task__required_annotations"))
            .order_by("task_id")
            .values_list("task__prompt_id", "groups")
        )
        for prompt_id, groups in finished:
            ranks[prompt_id] = {pk: index for index, group in enumerate(groups) for pk in group}
    return ranks


def tree_items(*, filters: dict) -> list[dict]:
    """Conversations that user replies grew (labeling.user_replies), one
    row per root prompt (a prompt that continues none) matching the (clean)
    filters, oldest first: its messages and, nested, its answers and the
    replies that continue them, each reply with its own answers. An answer
    is in the tree when it was ranked (with its rank in the newest finished
    ranking of its prompt) or continued; its label consensus comes with it
    where it was labelled."""
    roots = _dated(
        Prompt.objects.filter(parent__isnull=True, continuations__isnull=False).distinct(), filters
    ).order_by("id")
    if "sources" in filters:
        roots = roots.filter(source__in=filters["sources"])
    if "import_id" in filters:
        roots = roots.filter(prompt_import_id=filters["import_id"])
    roots = list(roots)
    prompts = {p.pk: p for p in roots}
    children: dict[int, list[Prompt]] = {}
    frontier = [p.pk for p in roots]
    while frontier:
        found = []
        for some in batches(frontier):
            found += Prompt.objects.filter(parent_id__in=some).order_by("id")
        for child in found:
            prompts[child.pk] = child
            children.setdefault(child.parent_id, []).append(child)
        frontier = [child.pk for child in found]
    ranks = _ranked(list(prompts))
    answer_ids = {pk for by_answer in ranks.values() for pk in by_answer}
    answer_ids |= {p.parent_candidate_id for p in prompts.values() if p.parent_candidate_id}
    answers = {}
    for some in batches(sorted(answer_ids)):
        answers.update(Candidate.objects.filter(pk__in=some).select_related("label_consensus").in_bulk())

    def answer_nodes(prompt: Prompt) -> list[dict]:
        rank = ranks.get(prompt.pk, {})
        continued: dict[int, list[Prompt]] = {}
        for child in children.get(prompt.pk, []):
            if child.parent_candidate_id in answers:
                continued.setdefault(child.parent_candidate_id, []).append(child)
        ids = sorted(
            {pk for pk in rank if pk in answers} | set(continued), key=lambda pk: (rank.get(pk, len(rank)), pk)
        )
        nodes = []
        for pk in ids:
            answer = answers[pk]
            consensus = getattr(answer, "label_consensus", None)
            nodes.append(
                {
                    "id": pk,
                    "text": answer.text,
                    "rank": rank.get(pk),
                    "labels": consensus.scales if consensus else None,
                    "replies": [
                        {"prompt_id": child.pk, "text": child.messages[-1]["content"], "answers": answer_nodes(child)}
                        for child in continued.get(pk, [])
                    ],
                }
            )
        return nodes

    return [
        {
            "id": f"tree-{root.pk}",
            "prompt_id": root.pk,
            "source": root.source,
            "created_at": root.created_at.isoformat(),
            "messages": root.messages,
            "answers": answer_nodes(root),
        }
        for root in roots
    ]


def canonical_json(row: dict) -> str:
    """One snapshot row as the bytes its hash is taken over: sorted keys, no
    spaces, text as it is (not \\u-escaped)."""
    return json.dumps(row, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


# --- Freezing and reading back ----------------------------------------------

_SNAPSHOT_NAME = re.compile(r"[-a-zA-Z0-9_]{1,100}")


def snapshot_create(*, name: str, kind: str, filters: dict | None = None, created_by=None) -> DatasetSnapshot:
    """Freezes the items that match `filters` as the next version of
    dataset `name`: canonical JSONL (sorted keys, one item per line, in id
    order) written once to DATA_DIR/datasets/, its sha256 stored. Nothing
    done later to prompts, rankings or consensus changes the file. Raises
    UserError for bad filters or when nothing matches."""
    if not _SNAPSHOT_NAME.fullmatch(name):
        raise UserError("invalid_name", "A dataset name is letters, digits, - and _ (at most 100).")
    try:
        filters = snapshot_filters_clean(kind=kind, filters=filters or {})
    except ValueError as error:
        raise UserError("invalid_filters", f"The filters are not valid: {error}.") from None
    if kind == DatasetSnapshot.Kind.PREFERENCE:
        quality_refresh()
        rows = preference_items(filters=filters)
    elif kind == DatasetSnapshot.Kind.FEEDBACK:
        rows = judged_answer_items(filters=filters)
    elif kind == DatasetSnapshot.Kind.LABELS:
        rows = label_items(filters=filters)
    elif kind == DatasetSnapshot.Kind.CONVERSATIONS:
        rows = tree_items(filters=filters)
    else:
        rows = sft_items(filters=filters)
    if not rows:
        raise UserError("empty", "No items match these filters.")
    # Krippendorff's alpha and Kendall's W of the rankings behind its rows,
    # kept with it as they are now, like the rows.
    agreement = (
        rankings_agreement(task_ids=[int(row["id"].removeprefix("task-")) for row in rows])
        if kind == DatasetSnapshot.Kind.PREFERENCE
        else {}
    )
    data = "".join(canonical_json(row) + "\n" for row in rows).encode("utf-8")
    digest = hashlib.sha256(data).hexdigest()
    with transaction.atomic():
        version = (DatasetSnapshot.objects.filter(name=name).aggregate(latest=Max("version"))["latest"] or 0) + 1
        # The hash in the name: two admins racing for one version never
        # write over each other's file (the loser's row is refused).
        relative = f"datasets/{name}/v{version}-{digest[:12]}.jsonl"
        path = settings.DATA_DIR / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        partial.write_bytes(data)
        partial.chmod(0o444)
        os.replace(partial, path)
        try:
            return DatasetSnapshot.objects.create(
                name=name,
                version=version,
                kind=kind,
                filters=filters,
                content_hash=digest,
                item_count=len(rows),
                agreement_stats=agreement,
                path=relative,
                created_by=created_by,
            )
        except IntegrityError:
            raise UserError("busy", f"Version {version} of {name} was just made; try again.") from None


def snapshot_get(*, spec: str) -> DatasetSnapshot:
    """`name@version`, or `name` for its latest version. Raises
    DatasetSnapshot.DoesNotExist."""
    name, _, version = spec.partition("@")
    snapshots = DatasetSnapshot.objects.filter(name=name)
    if version:
        if not version.isdigit():
            raise DatasetSnapshot.DoesNotExist(f"{spec!r}: the version must be a number")
        return snapshots.get(version=int(version))
    snapshot = snapshots.order_by("-version").first()
    if snapshot is None:
        raise DatasetSnapshot.DoesNotExist(f"No snapshot is named {name!r}.")
    return snapshot


def snapshot_rows(*, snapshot: DatasetSnapshot) -> list[dict]:
    """The frozen rows, after checking the file still has the stored hash."""
    path = settings.DATA_DIR / snapshot.path
    try:
        data = path.read_bytes()
    except OSError as error:
        raise UserError("missing", f"The file of {snapshot} cannot be read: {error.strerror}.") from None
    if hashlib.sha256(data).hexdigest() != snapshot.content_hash:
        raise UserError("tampered", f"The file of {snapshot} no longer has its recorded hash; it was changed.")
    return [json.loads(line) for line in data.decode("utf-8").splitlines()]


# --- Export formats ---------------------------------------------------------

# Each format and the snapshot kinds it can be written from.
FORMATS = {
    "sft-messages": (DatasetSnapshot.Kind.SFT,),
    "sft-prompt-completion": (DatasetSnapshot.Kind.SFT,),
    "preference": (DatasetSnapshot.Kind.PREFERENCE,),
    "oasst": (DatasetSnapshot.Kind.SFT, DatasetSnapshot.Kind.PREFERENCE, DatasetSnapshot.Kind.CONVERSATIONS),
    "oasst-messages": (DatasetSnapshot.Kind.CONVERSATIONS,),
    "unpaired": (DatasetSnapshot.Kind.FEEDBACK, DatasetSnapshot.Kind.PREFERENCE),
    "labels": (DatasetSnapshot.Kind.LABELS,),
}


def _assistant(text: str) -> list[dict]:
    return [{"role": "assistant", "content": text}]


def _pairs(row: dict) -> Iterator[dict]:
    candidates = {c["id"]: c for c in row["candidates"]}
    groups: dict[int, list[int]] = {}
    for candidate in row["candidates"]:
        groups.setdefault(candidate["rank"], []).append(candidate["id"])
    harmful = {pk for pk, c in candidates.items() if NEVER_CHOSEN_FLAGS.intersection(c["flags"])}
    scores = {pk: c["score"] for pk, c in candidates.items()}
    for chosen, rejected, margin in preference_pairs([groups[r] for r in sorted(groups)], scores, harmful):
        yield {
            "prompt": row["messages"],
            "chosen": _assistant(candidates[chosen]["text"]),
            "rejected": _assistant(candidates[rejected]["text"]),
            "margin": margin,
            "group_id": row["id"],
        }


def _judged_from_ranking(row: dict) -> Iterator[dict]:
    """A ranking as answers judged one at a time: those in its consensus-
    best group good, those in its worst group bad, the ones between left
    out (better than some of its answers and worse than others, neither
    judgement holds); an answer flagged harmful is bad wherever it ranks,
    and one that may never be chosen (harmful, or held by moderation) is
    never good. A ranking that ties everything says nothing. Unpairing
    every C(K,2) pair instead, as TRL's unpair_preference_dataset does,
    would call a middle answer both good and bad."""
    ranks = sorted({c["rank"] for c in row["candidates"]})
    if len(ranks) < 2:
        return
    for candidate in row["candidates"]:
        flags = set(candidate["flags"])
        if FLAG_HARMFUL in flags or candidate["rank"] == ranks[-1]:
            label = False
        elif candidate["rank"] == ranks[0] and not NEVER_CHOSEN_FLAGS.intersection(flags):
            label = True
        else:
            continue
        yield {"prompt": row["messages"], "completion": _assistant(candidate["text"]), "label": label}


def _tree(row: dict, answers: list[dict] | None = None) -> dict:
    """The row as an OpenAssistant message tree: its turns a chain of nodes
    ending in `answers`, or else in the row's ranked candidates or its
    answer."""
    messages = row["messages"]
    system = [m["content"] for m in messages if m["role"] == "system"]
    turns = [m for m in messages if m["role"] != "system"]
    if answers is None and "candidates" in row:
        answers = [
            {"text": c["text"], "role": "assistant", "rank": c["rank"], "replies": []} for c in row["candidates"]
        ]
    elif answers is None:
        answers = [{"text": row["completion"], "role": "assistant", "replies": []}]
    replies = answers
    for message in reversed(turns):
        role = "prompter" if message["role"] == "user" else "assistant"
        node = {"text": message["content"], "role": role, "replies": replies}
        replies = [node]
    tree = {"message_tree_id": row["id"], "prompt": replies[0]}
    if system:
        tree["system"] = system[0]
    return tree


def _answer_node(answer: dict) -> dict:
    node = {
        "text": answer["text"],
        "role": "assistant",
        "replies": [
            {"text": reply["text"], "role": "prompter", "replies": [_answer_node(a) for a in reply["answers"]]}
            for reply in answer["replies"]
        ],
    }
    if answer["rank"] is not None:
        node["rank"] = answer["rank"]
    if answer["labels"] is not None:
        node["labels"] = answer["labels"]
    return node


def _conversation_tree(row: dict) -> dict:
    """A conversation tree row as an OpenAssistant message tree: the root
    prompt's turns as a chain, then the answers and the replies under
    them."""
    return _tree(row, answers=[_answer_node(a) for a in row["answers"]])


def _flat_messages(row: dict) -> Iterator[dict]:
    """A conversation tree's messages, parents before children, each with
    its parent's id: the layout of OpenAssistant's published datasets."""
    tree_id = row["id"]
    parent = None
    turns = [m for m in row["messages"] if m["role"] != "system"]
    for index, message in enumerate(turns):
        last = index == len(turns) - 1
        message_id = f"prompt-{row['prompt_id']}" if last else f"prompt-{row['prompt_id']}-turn-{index}"
        role = "prompter" if message["role"] == "user" else "assistant"
        yield _flat(message_id, parent, tree_id, role, message["content"], None)
        parent = message_id

    def under(answers: list[dict], parent_id: str) -> Iterator[dict]:
        for answer in answers:
            answer_id = f"answer-{answer['id']}"
            yield _flat(answer_id, parent_id, tree_id, "assistant", answer["text"], answer["rank"])
            for reply in answer["replies"]:
                reply_id = f"prompt-{reply['prompt_id']}"
                yield _flat(reply_id, answer_id, tree_id, "prompter", reply["text"], None)
                yield from under(reply["answers"], reply_id)

    yield from under(row["answers"], parent)


def _flat(message_id, parent_id, tree_id, role, text, rank) -> dict:
    return {
        "message_id": message_id,
        "parent_id": parent_id,
        "message_tree_id": tree_id,
        "role": role,
        "text": text,
        "rank": rank,
    }


def _labels_row(row: dict) -> dict:
    record = {
        "prompt": row["messages"],
        "completion": _assistant(row["completion"]),
        "num_labels": row["num_labels"],
    }
    for scale in SCALES:
        said = row["consensus"][scale.name]
        record[scale.name] = said["share"] if scale.kind == FLAG else said["mean"]
        record[f"{scale.name}_spread"] = said["spread"]
    record["annotator_labels"] = [{"annotator": label["annotator"], **label["values"]} for label in row["labels"]]
    return record


def formats_for(*, kind: str) -> list[str]:
    """The formats a `kind` snapshot can be written in."""
    return [fmt for fmt, kinds in FORMATS.items() if kind in kinds]


def format_check(*, kind: str, fmt: str) -> None:
    """Raises ValueError unless a `kind` snapshot can be written as `fmt`."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if kind not in FORMATS[fmt]:
        raise ValueError(f"a {kind} snapshot cannot be exported as {fmt}")


def export_rows(*, kind: str, rows: list[dict], fmt: str) -> Iterator[dict]:
    """Rows of a `kind` snapshot in format `fmt`."""
    format_check(kind=kind, fmt=fmt)
    for row in rows:
        if fmt == "sft-messages":
            yield {"messages": [*row["messages"], *_assistant(row["completion"])]}
        elif fmt == "sft-prompt-completion":
            yield {"prompt": row["messages"], "completion": _assistant(row["completion"])}
        elif fmt == "preference":
            yield from _pairs(row)
        elif fmt == "unpaired" and kind == DatasetSnapshot.Kind.PREFERENCE:
            yield from _judged_from_ranking(row)
        elif fmt == "unpaired":
            yield {"prompt": row["messages"], "completion": _assistant(row["completion"]), "label": row["label"]}
        elif fmt == "labels":
            yield _labels_row(row)
        elif fmt == "oasst-messages":
            yield from _flat_messages(row)
        elif kind == DatasetSnapshot.Kind.CONVERSATIONS:
            yield _conversation_tree(row)
        else:
            yield _tree(row)


def export_lines(*, kind: str, rows: list[dict], fmt: str) -> Iterator[str]:
    """The same rows as JSONL lines, as files and downloads hold them."""
    for record in export_rows(kind=kind, rows=rows, fmt=fmt):
        yield json.dumps(record, ensure_ascii=False) + "\n"


def snapshot_export(*, snapshot: DatasetSnapshot, fmt: str, output: TextIO | Path | str) -> int:
    """Writes the snapshot in format `fmt` to `output` (a stream, or a file
    path), one object a line; returns how many lines. The format and the
    file's hash are checked before a file is opened, so a refusal leaves
    no file behind."""
    format_check(kind=snapshot.kind, fmt=fmt)
    rows = snapshot_rows(snapshot=snapshot)
    if isinstance(output, (str, Path)):
        with open(output, "w", encoding="utf-8") as stream:
            return _write(export_lines(kind=snapshot.kind, rows=rows, fmt=fmt), stream)
    return _write(export_lines(kind=snapshot.kind, rows=rows, fmt=fmt), output)


def _write(lines: Iterator[str], stream: TextIO) -> int:
    count = 0
    for line in lines:
        stream.write(line)
        count += 1
    return count
