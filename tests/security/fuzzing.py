"""What the fuzz tests share: a victim whose every object carries SECRET,
an attacker with objects of their own and every right short of admin's,
and hypothesis strategies for hostile input (wrong shapes and types,
huge values, invalid Unicode, other users' ids)."""

import json
import math
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import Permission
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from arena.models import ArenaMatch
from chat.models import FEEDBACK_REASONS, ChatDefaults, Conversation, Feedback, Message, MessageStatus, SettingsPreset
from jobs.models import TrainingJob
from moderation.models import ReviewItem
from openai_api.services import api_key_create
from registry.models import ModelVersion

SECRET = "victim-secret-5f0c9"

# Integers at the edges of the database's columns and of Python's int/float conversions.
EDGE_INTS = [0, -1, 2**31 - 1, 2**31, 2**63 - 1, 2**63, 2**64, 10**30, -(2**63) - 1]
# Past float's range, but within what int() parses from text (4300 digits).
huge_ints = st.integers(300, 4000).map(lambda digits: 10**digits)

# --- the world ------------------------------------------------------------------


@dataclass(frozen=True)
class World:
    attacker: object
    victim: object
    api_key: str  # the attacker's raw API key
    served_model: str
    own: dict[str, list[int]]  # the attacker's objects by kind
    theirs: dict[str, list[int]]  # the victim's

    def all_ids(self) -> list[int]:
        return sorted({pk for objects in (self.own, self.theirs) for pks in objects.values() for pk in pks})

    def remember(self, kind: str, pk) -> None:
        """An object the attacker's requests created, for later ones to use."""
        if isinstance(pk, int) and pk not in self.own[kind]:
            self.own[kind].append(pk)


def _objects(owner, *, text: str, versions: tuple[ModelVersion, ModelVersion], queued: int) -> dict[str, list[int]]:
    """A conversation with a question, its answer (rated) and `queued`
    answers still waiting for a worker; an arena match whose answers are
    written; a training job; chat defaults and a settings preset. Every
    text says `text`."""
    conversation = Conversation.objects.create(owner=owner, title=f"Title {text}", system_prompt=f"System {text}")
    question = Message.objects.create(
        conversation=conversation, role=Message.Role.USER, content=f"Question {text}", status=MessageStatus.ACCEPTED
    )
    answer = Message.objects.create(
        conversation=conversation,
        parent=question,
        role=Message.Role.ASSISTANT,
        content=f"Answer {text}",
        status=MessageStatus.COMPLETE,
    )
    waiting = [
        Message.objects.create(
            conversation=conversation,
            parent=question,
            role=Message.Role.ASSISTANT,
            content=f"Partial {text}",
            status=MessageStatus.QUEUED,
        )
        for _ in range(queued)
    ]
    conversation.current_leaf = answer
    conversation.save(update_fields=["current_leaf"])
    Feedback.objects.create(message=answer, user=owner, rating=Feedback.Rating.UP, comment=f"Comment {text}")

    arena_conversation = Conversation.objects.create(owner=owner, title=f"Arena {text}")
    arena_question = Message.objects.create(
        conversation=arena_conversation,
        role=Message.Role.USER,
        content=f"Arena question {text}",
        status=MessageStatus.ACCEPTED,
    )
    sides = [
        Message.objects.create(
            conversation=arena_conversation,
            parent=arena_question,
            role=Message.Role.ASSISTANT,
            content=f"Side {side} {text}",
            status=MessageStatus.COMPLETE,
            model_version=version,
        )
        for side, version in zip("ab", versions, strict=True)
    ]
    match = ArenaMatch.objects.create(
        user=owner,
        conversation=arena_conversation,
        question=arena_question,
        answer_a=sides[0],
        answer_b=sides[1],
        version_a=versions[0],
        version_b=versions[1],
    )
    job = TrainingJob.objects.create(
        kind="sft",
        preset="cpu-quick",
        recipe="training.sft",
        created_by=owner,
        state="running",
        log_tail=f"Log {text}",
    )
    defaults = {"system_prompt": f"Defaults {text}", "temperature": 0.5, "top_p": 0.9, "max_new_tokens": 64}
    ChatDefaults.objects.create(user=owner, **defaults)
    preset = SettingsPreset.objects.create(owner=owner, name=f"Preset {text}", **defaults)
    return {
        "conversation": [conversation.pk],
        "preset": [preset.pk],
        "message": [question.pk, answer.pk, *(m.pk for m in waiting)],
        # A match's conversation and messages, which the chat's API and socket do not serve.
        "arena": [arena_conversation.pk, arena_question.pk, *(m.pk for m in sides)],
        "match": [match.pk],
        "job": [job.pk],
        "version": [v.pk for v in versions],
    }


def build_world(make_user, *, busy: bool) -> World:
    """`busy`: the attacker already has as many answers waiting as they may,
    so a valid request to start another is refused at once rather than
    waiting for a generation worker. The victim has one answer waiting
    (which a stop by anyone else must not touch)."""
    versions = (
        ModelVersion.objects.create(name="fuzz-serving", source="imported", path="/nonexistent/a", is_serving=True),
        ModelVersion.objects.create(name="fuzz-other", source="imported", path="/nonexistent/b", arena_enabled=True),
    )
    victim = make_user(username="victim", arena_enabled=True)
    attacker = make_user(username="attacker", role="annotator", arena_enabled=True)
    attacker.user_permissions.add(Permission.objects.get(codename="add_trainingjob", content_type__app_label="jobs"))
    theirs = _objects(victim, text=SECRET, versions=versions, queued=1)
    own = _objects(
        attacker, text="mine", versions=versions, queued=settings.CHAT_MAX_CONCURRENT_GENERATIONS if busy else 0
    )
    _, raw_key = api_key_create(user=attacker, name="fuzz")
    return World(
        attacker=attacker, victim=victim, api_key=raw_key, served_model=versions[0].name, own=own, theirs=theirs
    )


def victim_state(world: World) -> tuple:
    """Everything of the victim's an attacker could change."""
    victim = world.victim
    return (
        list(
            Conversation.objects.filter(owner=victim)
            .order_by("pk")
            .values_list("pk", "title", "system_prompt", "temperature", "top_p", "max_new_tokens", "current_leaf_id")
        ),
        list(Message.objects.filter(conversation__owner=victim).order_by("pk").values_list("pk", "status", "content")),
        list(
            Feedback.objects.filter(message__conversation__owner=victim)
            .order_by("pk")
            .values_list("pk", "user_id", "rating", "comment")
        ),
        list(ArenaMatch.objects.filter(user=victim).order_by("pk").values_list("pk", "outcome")),
        ReviewItem.objects.filter(message__conversation__owner=victim).count(),
        list(TrainingJob.objects.filter(created_by=victim).values_list("pk", "state")),
        list(ChatDefaults.objects.filter(user=victim).values_list("system_prompt", "temperature", "max_new_tokens")),
        list(
            SettingsPreset.objects.filter(owner=victim)
            .order_by("pk")
            .values_list("pk", "name", "system_prompt", "temperature", "top_p", "max_new_tokens")
        ),
    )


# --- strategies -----------------------------------------------------------------

FUZZ_SETTINGS = hypothesis_settings(
    deadline=None,
    database=None,  # no example database: every run explores afresh, a failure prints its example
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)


def weighted(*choices: tuple[int, st.SearchStrategy]) -> st.SearchStrategy:
    """One of the strategies, each as often as its weight says. (one_of
    picks evenly and counts a strategy given twice once.)"""
    table = [strategy for weight, strategy in choices for _ in range(weight)]
    return st.integers(0, len(table) - 1).flatmap(lambda index: table[index])


# What a browser never sends but a client can: NUL and other control
# characters, lone surrogates (JSON escapes them, UTF-8 cannot encode
# them), noncharacters, the line separator, a byte-order mark.
NASTY = "\x00\x01\x1b\x7f\u0085\u2028\u202e\ufeff\uffff\U0010ffff\ud800\udbff\udc00\udfff"
messy_characters = st.one_of(st.characters(), st.characters(categories=["Cs"]), st.sampled_from(NASTY))


def messy_text(max_size: int = 40) -> st.SearchStrategy[str]:
    """Any text, half the time with a NASTY character in it for sure."""
    half = max(max_size // 2, 1)
    spiked = st.builds(
        lambda a, bad, b: a + bad + b, st.text(max_size=half), st.sampled_from(NASTY), st.text(max_size=half)
    )
    return st.one_of(spiked, st.text(messy_characters, max_size=max_size))


def huge_text(low: int = 5_000, high: int = 120_000) -> st.SearchStrategy[str]:
    """Long strings, built by repetition: generating them character by
    character would dominate the run."""
    return st.builds(
        lambda unit, n: unit * (n // len(unit) + 1),
        st.text(messy_characters, min_size=1, max_size=3),
        st.integers(low, high),
    )


numbers = st.one_of(
    st.integers(),
    st.floats(),
    # json.dumps writes these as NaN and Infinity, which json.loads reads back.
    st.sampled_from([math.nan, math.inf, -math.inf, 1e308, -0.0, 5e-324]),
    st.sampled_from(EDGE_INTS),
    huge_ints,
    st.sampled_from([True, False, "1", "0.5", "nan", "inf", "-inf", "1e999", "0x10", "1_000", " 7 ", "٣"]),
)

scalars = st.one_of(st.none(), st.booleans(), numbers, messy_text())

json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(messy_text(10), children, max_size=4),
    max_leaves=12,
)


def ids(world: World, kind: str | None = None) -> st.SearchStrategy[int]:
    """An object's id: most often one of the attacker's own objects of
    `kind`, else one of the victim's, any number, or one past the
    database's or float's range. Ids of the wrong type are among
    `wrong_values`."""
    pool = world.own[kind] if kind else world.all_ids()
    # Drawn at each use, so ids the attacker's requests create (World.remember) join in.
    own = st.integers(0, 10**4).map(lambda i: pool[i % len(pool)])
    theirs = st.sampled_from(world.theirs[kind] if kind else world.all_ids())
    arena = st.sampled_from(world.own["arena"] + world.theirs["arena"])
    odd = st.one_of(st.integers(-3, 10**6), st.sampled_from(EDGE_INTS), huge_ints)
    return weighted((5, own), (2, theirs), (1, arena), (1, odd))


def path_ids(world: World, kind: str) -> st.SearchStrategy[str]:
    """An id in a URL (the resolver takes digits only): most often the
    attacker's own object of `kind`, else the victim's or an arena
    match's. Requests whose body varies take these; hypothesis tries a
    finite choice once, so odd ids (`odd_path_ids`) go with requests of
    their own."""
    return weighted(
        (6, st.sampled_from(world.own[kind])),
        (2, st.sampled_from(world.theirs[kind])),
        (1, st.sampled_from(world.own["arena"] + world.theirs["arena"])),
    ).map(str)


def odd_path_ids(world: World) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(world.all_ids()).map(str),
        st.integers(0, 10**6).map(str),
        st.sampled_from(["0", "007", "2147483648", "9223372036854775808"]),
        st.integers(20, 5000).map(lambda digits: "9" * digits),
    )


def wrong_values(world: World | None = None) -> st.SearchStrategy:
    """What a field should not hold: any JSON, odd text, huge text, and
    (given the world) ids in the wrong type."""
    wrong = st.one_of(json_values, numbers, messy_text(), huge_text())
    if world is None:
        return wrong
    number = ids(world)
    wrong_ids = st.one_of(
        number.map(str),
        number.map(lambda n: [n]),
        number.map(lambda n: {"id": n}),
        st.sampled_from(world.all_ids()).map(float),
    )
    return weighted((2, wrong), (1, wrong_ids))


def objects(
    fields: dict[str, st.SearchStrategy], world: World | None = None, required: tuple[str, ...] = ()
) -> st.SearchStrategy[dict]:
    """An object with valid values for the `required` fields and any subset
    of the others, or one like it with one field (known, most often, or
    unknown) spoiled by a wrong value: every check is reached with the
    others passing."""
    valid = st.fixed_dictionaries(
        {name: fields[name] for name in required}, optional={k: v for k, v in fields.items() if k not in required}
    )
    key = weighted((3, st.sampled_from(sorted(fields))), (1, messy_text(12))) if fields else messy_text(12)
    spoiled = st.builds(lambda obj, k, value: {**obj, k: value}, valid, key, wrong_values(world))
    return st.one_of(valid, spoiled)


def settings_object() -> st.SearchStrategy[dict]:
    """A conversation's settings, as PATCH and the socket's `send` take them."""
    limit = settings.GENERATION_MAX_NEW_TOKENS_LIMIT
    return objects(
        {
            "title": st.one_of(st.text(min_size=1, max_size=30), messy_text()),
            "system_prompt": st.one_of(
                st.text(max_size=30), messy_text(), st.builds(lambda n: "s" * n, st.integers(7990, 8010))
            ),
            "temperature": st.one_of(st.floats(0, 2), st.integers(0, 2)),
            "top_p": st.floats(0.01, 1),
            "max_new_tokens": st.one_of(st.integers(1, limit), st.sampled_from([1, limit, 0, limit + 1])),
        }
    )


def feedback_object() -> st.SearchStrategy[dict]:
    reasons = sorted({r for rs in FEEDBACK_REASONS.values() for r in rs})
    return objects(
        {
            "rating": st.sampled_from([1, -1, 0, 2, 1.0, True]),
            "reasons": st.lists(st.sampled_from(reasons), max_size=3),
            "comment": st.one_of(
                st.text(max_size=30), messy_text(), st.builds(lambda n: "c" * n, st.integers(3990, 4010))
            ),
        }
    )


def deep_nesting() -> st.SearchStrategy[str]:
    """JSON nested deeper than the parser's recursion limit, and not quite."""
    return st.builds(
        lambda pair, depth: pair[0] * depth + "1" + pair[1] * depth,
        st.sampled_from([("[", "]"), ('{"a":', "}")]),
        st.integers(10, 40_000),
    )


def json_text(values: st.SearchStrategy) -> st.SearchStrategy[str]:
    """JSON as a client writes it: lone surrogates escaped, or raw (which
    no UTF-8 encoder accepts)."""
    return weighted((2, values.map(json.dumps)), (1, values.map(lambda v: json.dumps(v, ensure_ascii=False))))


def generation_settings_object() -> st.SearchStrategy[dict]:
    """The four settings the user's defaults and a preset store (all
    required, so valid ones are stored), or one spoiled."""
    limit = settings.GENERATION_MAX_NEW_TOKENS_LIMIT
    return objects(
        {
            "system_prompt": st.one_of(
                st.text(max_size=30), messy_text(), st.builds(lambda n: "s" * n, st.integers(7990, 8010))
            ),
            "temperature": st.one_of(st.floats(0, 2), st.integers(0, 2)),
            "top_p": st.floats(0.01, 1),
            "max_new_tokens": st.one_of(st.integers(1, limit), st.sampled_from([1, limit, 0, limit + 1])),
        },
        required=("system_prompt", "temperature", "top_p", "max_new_tokens"),
    )
