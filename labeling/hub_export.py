"""A snapshot as a Hugging Face dataset: a folder that `datasets.load_dataset`
reads and the Hub shows, and pushing it to a Hub repository.

The folder holds `data/train-0000N-of-0000M.parquet` shards, in one of
TRL's conversational formats (labeling.datasets has them as JSONL; oasst's
trees, of any depth, have no fixed columns and are left to JSONL), and a
README.md dataset card: YAML front matter with the licence, the data files
and the features, then what the snapshot is (name, version, items, its
sha256, filters) and how the labeling loop made it.

The same snapshot gives byte-identical shards (rows in the snapshot's order,
a fixed schema, no timestamps), so a shard's hash can be compared across
exports; the card changes only with the code's commit and the annotators
counted at export.

Heavy libraries (datasets, pyarrow, huggingface_hub) are imported where
used, so the web process pays for them only when someone exports.
"""

import io
import math
import os
import shutil
import tempfile
import zipfile
from collections import Counter
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path

from django.conf import settings

from core.checkout import checkout_commit
from core.errors import UserError

from .datasets import export_rows, format_check, formats_for, snapshot_rows
from .label_scales import FLAG, LIKERT_MAX, LIKERT_MIN, SCALES
from .models import Assignment, Consensus, DatasetSnapshot, Demonstration, Prompt, Task

# The formats a Hub dataset is written in, and their columns: a message list
# is [{"role", "content"}], as TRL's conversational formats have it.
HUB_FORMATS = {
    "sft-messages": {"messages": "messages"},
    "sft-prompt-completion": {"prompt": "messages", "completion": "messages"},
    "preference": {
        "prompt": "messages",
        "chosen": "messages",
        "rejected": "messages",
        "margin": "float64",
        "group_id": "string",
    },
    "unpaired": {"prompt": "messages", "completion": "messages", "label": "bool"},
    # Per scale of labeling.label_scales its consensus and spread, then
    # every annotator's own labels ("annotator_labels": a list of structs).
    "labels": {
        "prompt": "messages",
        "completion": "messages",
        "num_labels": "int64",
        **{name: "float64" for scale in SCALES for name in (scale.name, f"{scale.name}_spread")},
        "annotator_labels": "annotator_labels",
    },
    "oasst-messages": {
        "message_id": "string",
        "parent_id": "string",
        "message_tree_id": "string",
        "role": "string",
        "text": "string",
        "rank": "int64",
    },
}
# What a row is, in the card.
_ROW_NAMES = {
    "preference": "pairs",
    "unpaired": "judged answers",
    "labels": "labelled answers",
    "oasst-messages": "messages",
}
# The Hub's own default for push_to_hub: shards of at most this many bytes
# of Arrow data, so no single file is too large to fetch or preview.
MAX_SHARD_BYTES = 500 * 2**20

_FORMAT_PROSE = {
    "sft-messages": (
        "TRL's conversational language-modelling format: `messages` is the prompt's turns (an optional system "
        "message, then user and assistant turns) followed by the assistant answer that is trained."
    ),
    "sft-prompt-completion": (
        "TRL's conversational prompt-completion format: `prompt` is the conversation up to the answer, "
        "`completion` the assistant answer that is trained."
    ),
    "preference": (
        "TRL's conversational preference format (explicit prompt): `prompt` is the conversation, `chosen` and "
        "`rejected` are one assistant message each, the better first. Every pair of a ranking's candidates that "
        "are not tied is a row; `margin` is their consensus score difference (the reward trainer's margin) and "
        "`group_id` names the ranking, so its pairs can be kept in one split. A candidate the consensus flagged "
        "harmful is never `chosen`."
    ),
    "unpaired": (
        "TRL's conversational unpaired preference format, which the KTO trainer reads: `prompt` is the "
        "conversation up to the answer, `completion` the assistant answer, `label` true for a thumbs up and "
        "false for a thumbs down; from rankings, true for the answers of a ranking's consensus-best group and "
        "false for those of its worst group or flagged harmful (the ones between are left out)."
    ),
    "labels": (
        "One labelled assistant answer a row: `prompt` is the conversation up to it, `completion` the answer. "
        "For each scale its consensus: "
        + ", ".join(f"`{scale.name}`" for scale in SCALES if scale.kind != FLAG)
        + f" are the mean of the annotators' {LIKERT_MIN} (worst) to {LIKERT_MAX} (best) labels, "
        + ", ".join(f"`{scale.name}`" for scale in SCALES if scale.kind == FLAG)
        + " the share of annotators saying yes (0 to 1); `<scale>_spread` is the population standard deviation "
        "of a 1 to 5 scale and the share in the minority of a yes/no one (0 when all agree). "
        "`annotator_labels` holds each annotator's own labels, the annotator a pseudonym that is the same "
        "across this site's snapshots, so per-annotator agreement can be measured."
    ),
    "oasst-messages": (
        "Conversation trees grown by annotators replying as the user, flat, one message a row, as "
        "OpenAssistant's oasst1 and oasst2 datasets are laid out: `message_id`, `parent_id` (null at a tree's "
        "root), `message_tree_id`, `role` (`prompter` or `assistant`), `text`, and `rank` (an assistant "
        "answer's place in its ranking's consensus, 0 best; null where it was not ranked). Walk `parent_id` "
        "from any message to its root for the conversation up to it."
    ),
}


def hub_format_check(*, kind: str, fmt: str) -> None:
    """Raises ValueError unless a `kind` snapshot can be a Hub dataset in `fmt`."""
    format_check(kind=kind, fmt=fmt)
    if fmt not in HUB_FORMATS:
        raise ValueError(f"{fmt} has no fixed columns for Parquet; export it as JSONL")


def hub_formats_for(*, kind: str) -> list[str]:
    """The formats a `kind` snapshot can be a Hub dataset in."""
    return [fmt for fmt in formats_for(kind=kind) if fmt in HUB_FORMATS]


def folder_name(*, snapshot: DatasetSnapshot, fmt: str) -> str:
    return f"{snapshot.name}-v{snapshot.version}-{fmt}"


def _features(fmt: str):
    from datasets import Features, List, Value

    message = {"role": Value("string"), "content": Value("string")}
    annotator_labels = List(
        {"annotator": Value("string"), **{s.name: Value("bool" if s.kind == FLAG else "int64") for s in SCALES}}
    )
    special = {"messages": List(message), "annotator_labels": annotator_labels}
    return Features({column: special.get(dtype) or Value(dtype) for column, dtype in HUB_FORMATS[fmt].items()})


def dataset_folder_write(
    *, snapshot: DatasetSnapshot, fmt: str, out: Path, replace: bool = False, max_shard_bytes: int = MAX_SHARD_BYTES
) -> dict:
    """Writes the snapshot in `fmt` as a Hugging Face dataset folder at
    `out`; returns {"rows", "shards", "bytes"}. The folder is built beside
    `out` and moved into place whole, so a failed export leaves nothing
    half-written; an existing `out` is refused unless `replace`. Raises
    ValueError for a format the snapshot has no Hub form in, UserError for a
    snapshot file that is missing or changed."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    hub_format_check(kind=snapshot.kind, fmt=fmt)
    out = Path(out)
    if out.exists() and not replace:
        raise UserError("exists", f"{out} already exists; pass replace to write over it.")
    rows = snapshot_rows(snapshot=snapshot)
    features = _features(fmt)
    table = pa.Table.from_pylist(
        list(export_rows(kind=snapshot.kind, rows=rows, fmt=fmt)), schema=features.arrow_schema
    )
    per_shard = max(1, math.ceil(table.num_rows / max(1, math.ceil(table.nbytes / max_shard_bytes))))
    shards = max(1, math.ceil(table.num_rows / per_shard))
    out.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        (building / "data").mkdir()
        download_size = 0
        for index in range(shards):
            shard = building / "data" / f"train-{index:05d}-of-{shards:05d}.parquet"
            pq.write_table(table.slice(index * per_shard, per_shard), shard)
            download_size += shard.stat().st_size
        card = dataset_card(
            snapshot=snapshot,
            fmt=fmt,
            rows=rows,
            features=features,
            stats=(table.num_rows, table.nbytes, download_size),
        )
        (building / "README.md").write_text(card, encoding="utf-8")
        building.chmod(0o755)
        if out.exists():
            _swap(building, out)
        else:
            os.replace(building, out)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    return {"rows": table.num_rows, "shards": shards, "bytes": download_size}


def _swap(new: Path, old: Path) -> None:
    """Puts `new` where `old` is: `old` moves aside first, so there is no
    moment with neither, and goes once `new` is in."""
    aside = Path(tempfile.mkdtemp(prefix=f".{old.name}-old-", dir=old.parent))
    os.replace(old, aside / old.name)
    os.replace(new, old)
    shutil.rmtree(aside)


# --- The dataset card -------------------------------------------------------


def _size_category(count: int) -> str:
    """The Hub's size_categories tag for `count` rows."""
    bounds = [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")]
    for bound, tag in bounds:
        if count < bound:
            return tag
    return "1M<n<10M" if count < 10_000_000 else "n>10M"


def _ids(rows: list[dict]) -> list[int]:
    return [int(row["id"].rpartition("-")[2]) for row in rows]


def _counted(counter: Counter, labels: dict) -> str:
    return ", ".join(f"{count} {labels.get(key, key)}" for key, count in sorted(counter.items(), key=str))


def _how_made(snapshot: DatasetSnapshot, rows: list[dict]) -> list[str]:
    """The labeling loop behind the rows, in sentences, from the frozen rows
    (and the annotators, counted from the database now)."""
    if snapshot.kind == DatasetSnapshot.Kind.FEEDBACK:
        return _judged_answers_made(rows)
    sources = {value: label.lower() for value, label in Prompt.Source.choices}
    lines = [f"- Prompts: {_counted(Counter(row['source'] for row in rows), sources)}."]
    if snapshot.kind == DatasetSnapshot.Kind.PREFERENCE:
        return lines + _rankings_made(snapshot, rows)
    if snapshot.kind == DatasetSnapshot.Kind.LABELS:
        return lines + _labels_made(rows)
    if snapshot.kind == DatasetSnapshot.Kind.CONVERSATIONS:
        return lines + _trees_made(rows)
    task_kinds = {
        Task.Kind.DEMONSTRATION: "written for demonstration tasks",
        Task.Kind.RANKING: "written as better answers while ranking",
        None: "written outside a task",
    }
    authors = Demonstration.objects.filter(pk__in=_ids(rows)).exclude(author=None).values("author").distinct().count()
    lines.append(
        f"- Answers: {_counted(Counter(row['task_kind'] for row in rows), task_kinds)}, by {authors} annotators."
    )
    return lines


def _rankings_made(snapshot: DatasetSnapshot, rows: list[dict]) -> list[str]:
    methods = Counter(row["method"] for row in rows)
    method_names = {
        Consensus.Method.BORDA: "merged from annotators' rankings by a weighted Borda count",
        Consensus.Method.IMPORTED: "ranked in the imported data",
        Consensus.Method.ARENA: "single arena votes",
    }
    annotators = (
        Assignment.objects.filter(task_id__in=_ids(rows), ranking__isnull=False, ranking__gold_answer__isnull=True)
        .values("annotator")
        .distinct()
        .count()
    )
    agreements = [row["agreement"] for row in rows if row["agreement"] is not None]
    sizes = sorted(len(row["candidates"]) for row in rows)
    lines = [
        f"- Candidates per prompt: {sizes[0] if sizes[0] == sizes[-1] else f'{sizes[0]} to {sizes[-1]}'} "
        "(model versions' answers, annotators' answers, imported ones), shown to each annotator in a "
        "shuffled order.",
        f"- Rankings: {sum(row['num_rankings'] for row in rows)} by {annotators} annotators; each item's "
        f"consensus: {_counted(methods, method_names)}. An annotator's vote weighs by their past agreement "
        "with consensus.",
    ]
    if agreements:
        lines.append(
            f"- Agreement between an item's rankings (0 to 1, where an item has two or more): mean "
            f"{sum(agreements) / len(agreements):.2f}."
        )
    stats = snapshot.agreement_stats or {}
    if stats.get("measured_items"):
        alpha = "–" if stats["alpha"] is None else f"{stats['alpha']:.2f}"
        w_mean = "–" if stats["w_mean"] is None else f"{stats['w_mean']:.2f}"
        lines.append(
            f"- Over the {stats['measured_items']} items ranked by two or more annotators, when the snapshot was "
            f"made: Krippendorff's alpha (ordinal) {alpha}, mean Kendall's W {w_mean}."
        )
    lines.append(
        "- Left out: items the weighted majority found no answer acceptable to, items whose candidates all "
        "tie, and items still waiting for rankings."
    )
    return lines


def _labels_made(rows: list[dict]) -> list[str]:
    counts = sorted(row["num_labels"] for row in rows)
    annotators = len({label["annotator"] for row in rows for label in row["labels"]})
    scales = "; ".join(
        f"{scale.label.lower()} ({'yes or no' if scale.kind == FLAG else f'{LIKERT_MIN} to {LIKERT_MAX}'})"
        for scale in SCALES
    )
    per_answer = counts[0] if counts[0] == counts[-1] else f"{counts[0]} to {counts[-1]}"
    return [
        f"- Answers: {len(rows)}, each labelled by {per_answer} "
        f"of {annotators} annotators, each on its own (a label task shows one answer), on these scales: {scales}.",
        "- The consensus is unweighted: every annotator's label counts once. Left out: answers whose label task "
        "still waits for labels.",
    ]


def _trees_made(rows: list[dict]) -> list[str]:
    def walk(answers: list[dict], depth: int) -> tuple[int, int, int]:
        count_answers, count_replies, deepest = len(answers), 0, depth
        for answer in answers:
            for reply in answer["replies"]:
                a, r, d = walk(reply["answers"], depth + 1)
                count_answers, count_replies, deepest = count_answers + a, count_replies + r + 1, max(deepest, d)
        return count_answers, count_replies, deepest

    totals = [walk(row["answers"], 0) for row in rows]
    return [
        f"- Trees: {len(rows)}, holding {sum(t[0] for t in totals)} answers and {sum(t[1] for t in totals)} user "
        f"turns written by annotators replying as the user to an answer (the best of a ranking, or one an admin "
        f"chose); the deepest goes {max(t[2] for t in totals)} replies down from its first prompt.",
        "- An answer is in a tree when it was ranked (with its rank in the newest finished ranking of its prompt) "
        "or continued by a reply; replies to an answer flagged harmful, cut off at the length limit, or in an "
        "item with no acceptable answer are never asked for.",
    ]


def _judged_answers_made(rows: list[dict]) -> list[str]:
    labels = Counter(row["label"] for row in rows)
    versions = Counter(row["model_version"] or "an unrecorded version" for row in rows)
    return [
        f"- Answers: {len(rows)} chat answers their users rated, {labels[True]} thumbs up (`label` true) and "
        f"{labels[False]} thumbs down, from {_counted(versions, {})}.",
        "- Only users who share their chats for training. Left out whatever the rating: answers moderation "
        "flagged, answers a user reported or annotators flagged (unless a moderator overturned it), answers "
        "below a refused turn, and what their owners deleted.",
    ]


def dataset_card(*, snapshot: DatasetSnapshot, fmt: str, rows: list[dict], features, stats: tuple) -> str:
    """README.md: front matter the Hub and `datasets` read (licence, data
    files, features, sizes), then the snapshot and how it was made."""
    from datasets import DatasetInfo, SplitDict, SplitInfo
    from datasets.info import DatasetInfosDict
    from datasets.utils.metadata import MetadataConfigs
    from huggingface_hub import DatasetCardData

    num_rows, num_bytes, download_size = stats
    license_id = settings.DATASET_LICENSE
    data = DatasetCardData(
        license=license_id,
        pretty_name=f"{snapshot.name} v{snapshot.version} ({fmt})",
        task_categories=["text-generation"],
        size_categories=[_size_category(num_rows)],
        tags=list(dict.fromkeys(["trl", "chatsite", snapshot.kind, fmt])),
    )
    MetadataConfigs({"default": {"data_files": [{"split": "train", "path": "data/train-*"}]}}).to_dataset_card_data(
        data
    )
    splits = SplitDict()
    splits.add(SplitInfo(name="train", num_bytes=num_bytes, num_examples=num_rows))
    info = DatasetInfo(features=features, splits=splits, download_size=download_size, dataset_size=num_bytes)
    DatasetInfosDict({"default": info}).to_dataset_card_data(data)
    filters = "; ".join(f"{key}: {value}" for key, value in snapshot.filters.items()) or "none (every finished item)"
    commit = checkout_commit()
    licence = (
        "`other`: no licence was chosen for this export. Set DATASET_LICENSE to the licence the data may be "
        "shared under (an identifier the Hub knows, e.g. `cc-by-4.0`) once the prompts' and answers' origins "
        "allow it."
        if license_id == "other"
        else f"`{license_id}` (the site's DATASET_LICENSE)."
    )
    kind_label = DatasetSnapshot.Kind(snapshot.kind).label
    lines = [
        "---",
        data.to_yaml(),
        "---",
        "",
        f"# {snapshot.name} v{snapshot.version} ({fmt})",
        "",
        f"Dataset snapshot **{snapshot}** of a chatsite labeling app ({kind_label}), in the `{fmt}` format.",
        "",
        "| | |",
        "|---|---|",
        f"| Snapshot | `{snapshot}` |",
        f"| Items | {snapshot.item_count} |",
        f"| Rows | {num_rows} {_ROW_NAMES.get(fmt, 'conversations')} in the train split |",
        f"| sha256 | `{snapshot.content_hash}` |",
        f"| Filters | {filters} |",
        f"| Frozen | {snapshot.created_at.astimezone(UTC).strftime('%Y-%m-%d %H:%M UTC')} |",
        f"| Exported by | chatsite{f' at commit `{commit}`' if commit else ''} |",
        "",
        "## Format",
        "",
        _FORMAT_PROSE[fmt],
        "",
        "```python",
        "from datasets import load_dataset",
        'dataset = load_dataset("path/to/this/folder")  # or the Hub repository',
        "```",
        "",
        "## How it was made",
        "",
        *_how_made(snapshot, rows),
        "",
        "## The snapshot's hash",
        "",
        f"The sha256 above is that of the snapshot's canonical JSONL file (sorted keys, one item a line, in id "
        f"order), frozen when the snapshot was made and checked before this export read it. "
        f"`manage.py export_dataset {snapshot} --format {fmt} --output -` writes these rows as JSONL from the "
        f"same file; the Parquet shards hold the same rows in the same order.",
        "",
        "## Licence",
        "",
        licence,
        "",
    ]
    return "\n".join(lines)


# --- Zip download and the Hub -------------------------------------------------


class _Sink(io.RawIOBase):
    """A write-only stream whose bytes are taken as they come, so a zip is
    sent while it is written (zipfile marks its entries with data
    descriptors when it cannot seek back)."""

    def __init__(self):
        self._parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def folder_zip(*, folder: Path, root: str, date_time: tuple, chunk_bytes: int = 1 << 20) -> Iterator[bytes]:
    """The folder's files as a zip, in chunks of about `chunk_bytes`, under
    the directory `root`; every entry dated `date_time`, so the same folder
    gives the same zip."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w") as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            entry = zipfile.ZipInfo(f"{root}/{path.relative_to(folder).as_posix()}", date_time=date_time)
            entry.compress_type = zipfile.ZIP_STORED if path.suffix == ".parquet" else zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            with open(path, "rb") as source, archive.open(entry, "w") as target:
                while block := source.read(chunk_bytes):
                    target.write(block)
                    if written := sink.take():
                        yield written
    yield sink.take()


def dataset_push(
    *, snapshot: DatasetSnapshot, fmt: str, folder: Path, repo_id: str, private: bool = True, token: str = "", api=None
) -> str:
    """Uploads the folder to the Hub dataset repository `repo_id` (made,
    private by default, when it does not exist) as one commit that also
    deletes shards an earlier push left; returns the commit's URL. The token
    is `token` or the DATASET_HUB_TOKEN setting; without one the push is
    refused. `api` is huggingface_hub's HfApi unless given."""
    from httpx2 import HTTPError  # huggingface_hub's HTTP client: its transport errors
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    token = token or settings.DATASET_HUB_TOKEN
    if not token:
        raise UserError(
            "no_token",
            "Pushing to the Hugging Face Hub needs a write token: set DATASET_HUB_TOKEN "
            "(a token of the account or organisation that owns the repository).",
        )
    try:
        validate_repo_id(repo_id)
    except HFValidationError as error:
        raise UserError("invalid_repo", f"{repo_id!r} is not a Hub repository id (owner/name): {error}") from None
    api = api or HfApi(token=token)
    try:
        api.create_repo(repo_id, token=token, repo_type="dataset", private=private, exist_ok=True)
        commit = api.upload_folder(
            repo_id=repo_id,
            repo_type="dataset",
            folder_path=str(folder),
            commit_message=f"{snapshot} as {fmt} (sha256 {snapshot.content_hash})",
            token=token,
            delete_patterns=["data/*"],
        )
    except (OSError, HTTPError) as error:  # the Hub's answers, offline mode, the network
        raise UserError("push_failed", f"The push to {repo_id} failed: {error}") from None
    return getattr(commit, "commit_url", str(commit))
