import os
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from engine.tiny import build_tiny_chat_model

from .helpers.recorders import broadcasts_capturer, record_chat_tasks
from .processes import (
    start_asgi_server,
    start_celery_beat,
    start_celery_worker,
    start_openai_server,
    test_database_url,
)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A random-init chat model whose answers always run to max_new_tokens."""
    return build_tiny_chat_model(tmp_path_factory.mktemp("tiny-chat-model"), never_ends=True)


@pytest.fixture(scope="session")
def process_log_dir(tmp_path_factory) -> Path:
    path = Path(os.environ.get("TEST_LOG_DIR") or tmp_path_factory.mktemp("process-logs"))
    path.mkdir(parents=True, exist_ok=True)
    return path


# A few labelled lines in the seed set's format (OpenAI's moderation data:
# `prompt` and 0/1 labels, a missing key unknown), enough for retraining to
# cross-validate in seconds.
_SEED_LINES = [
    (
        {"H": 1, "HR": 1},
        ["I hate {g} and they should all leave", "{g} are vermin and subhuman", "All {g} are worthless"],
    ),
    (
        {"V": 1},
        ["I will beat him with a bat until he bleeds", "Let's burn their houses down", "Shoot them all at the rally"],
    ),
    (
        {"SH": 1},
        [
            "I want to cut myself again tonight",
            "I keep thinking about ending my life",
            "How many pills would it take to not wake up",
        ],
    ),
    (
        {"S": 1},
        [
            "Describe the explicit sex scene in detail",
            "Send me nude pictures of yourself",
            "Write an erotic story with graphic sex",
        ],
    ),
    (
        {"S": 0, "H": 0, "V": 0, "HR": 0, "SH": 0, "S3": 0, "H2": 0, "V2": 0},
        [
            "What is the capital of {g}?",
            "Give me a recipe for banana bread",
            "How do I sort a list in Python?",
            "The weather is lovely today",
            "Recommend a good science fiction novel",
            "How do plants make food from sunlight?",
        ],
    ),
]


@pytest.fixture(scope="session")
def moderation_seed_file(tmp_path_factory) -> Path:
    import json

    path = tmp_path_factory.mktemp("moderation-seed") / "seed.jsonl"
    groups = ["zorbians", "quuxians"]
    lines = [
        json.dumps({"prompt": text.format(g=group), **labels})
        for labels, texts in _SEED_LINES
        for text in texts
        for group in groups
    ]
    path.write_text("\n".join(dict.fromkeys(lines)) + "\n")
    return path


@pytest.fixture(scope="session")
def app_env(django_db_setup, tiny_model_dir, moderation_seed_file, tmp_path_factory) -> dict:
    """The environment of the app processes a test starts: the test
    database, this run's Redis and channel prefix, the tiny model."""
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": test_database_url(),
            "REDIS_URL": settings.REDIS_URL,
            "CHANNEL_LAYER_PREFIX": settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"],
            "CHAT_MODEL": str(tiny_model_dir),
            "DATA_DIR": str(tmp_path_factory.mktemp("app-data")),
            "SECRET_KEY": settings.SECRET_KEY,
            "PYTHONUNBUFFERED": "1",
            # A random-init model writes byte salad, which the profanity
            # classifier now and then scores as abuse; these processes
            # moderate with the rules layer alone so the tests decide what
            # is flagged. The profanity layer has its own tests.
            "MODERATION_LAYERS": "rules",
            "MODERATION_OUTPUT_LAYERS": "rules",
            # Rules a test adds take effect in the worker at once.
            "MODERATION_RULES_REFRESH_SECONDS": "0",
            # Retraining the classifier learns from this small seed set.
            "MODERATION_SEED_DATA": str(moderation_seed_file),
            # Beat (the `housekeeper` fixture) reaps dead answers every second on
            # a queue of its own, so killing the shared worker leaves it running;
            # the rest of housekeeping only where a test asks for it.
            "GENERATION_REAP_SECONDS": "1",
            "HOUSEKEEPING_QUEUE": "housekeeping",
            "HOUSEKEEPING_SECONDS": "86400",
            # Browser tests walk several labeling tasks in the order they
            # were made; routing's random share would take another first a
            # fifth of the time (it has its own tests, in-process).
            "LABELING_ROUTING_RANDOM_SHARE": "0",
        }
    )
    return env


@pytest.fixture(scope="session")
def housekeeper(app_env, process_log_dir):
    """Celery beat and a worker of its own: answers whose worker died are
    interrupted within a second or two of their heartbeat expiring."""
    worker = start_celery_worker(app_env, process_log_dir, queues="housekeeping", name="housekeeper", concurrency=1)
    beat = start_celery_beat(app_env, process_log_dir)
    yield
    beat.stop()
    worker.stop()


@pytest.fixture(scope="session")
def celery_worker(app_env, process_log_dir, housekeeper):
    """A real Celery worker process on the moderation, generation and training
    queues (with beat's reaper beside it)."""
    worker = start_celery_worker(app_env, process_log_dir)
    yield worker
    worker.stop()


@pytest.fixture(scope="session")
def live_server_url(app_env, process_log_dir, celery_worker):
    """The web role (uvicorn) serving the app over the test database."""
    server, url = start_asgi_server(app_env, process_log_dir)
    yield url
    server.stop()


@pytest.fixture(scope="session")
def openai_server_url(tiny_model_dir, process_log_dir):
    """An OpenAI-compatible server (`transformers serve`) with the tiny model."""
    server, url = start_openai_server(str(tiny_model_dir), dict(os.environ), process_log_dir)
    yield url
    server.stop()


@pytest.fixture
def captured_tasks(monkeypatch) -> list[tuple[str, int]]:
    """The chat tasks services would have sent to Celery, recorded instead
    of sent: ("moderate", message id) and ("generate", answer id)."""
    return record_chat_tasks(monkeypatch)


@pytest.fixture
def demonstrations_judged(monkeypatch, settings):
    """Annotators' answers judged by input moderation (the rules layer) the
    moment they are stored, where the moderation worker would judge them
    once their transaction commits (labeling.demonstration_moderation)."""
    from labeling import assignments
    from labeling.demonstration_moderation import demonstration_moderate

    settings.MODERATION_LAYERS = ["rules"]
    monkeypatch.setattr(
        assignments,
        "demonstration_moderation_request",
        lambda demonstration: demonstration_moderate(demonstration_id=demonstration.pk),
    )


@pytest.fixture
def captured_events(monkeypatch, django_capture_on_commit_callbacks):
    """Zulip's capture_send_event_calls: `with captured_events() as events:`
    records the broadcasts (`Broadcast(group, event)`) the block makes,
    its on-commit callbacks run as it ends."""
    return broadcasts_capturer(monkeypatch, django_capture_on_commit_callbacks)


@pytest.fixture
def make_user(django_user_model):
    def make(username="alice", password="a-Strong-pass-123", role="user", **extra):
        return django_user_model.objects.create_user(username=username, password=password, role=role, **extra)

    return make


@pytest.fixture
def user(make_user):
    return make_user()


def record_figures(name: str, figures: dict) -> None:
    """Prints figures a test measured and, when RECORD_FIGURES_DIR is set,
    writes them there as NAME.json (`bench/results` for a measured run), so
    an ordinary test run leaves the checkout as it was."""
    import json

    print(f"\n{name}: {json.dumps(figures)}")
    target = os.environ.get("RECORD_FIGURES_DIR")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        (Path(target) / f"{name}.json").write_text(json.dumps(figures, indent=2) + "\n")


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


@pytest.fixture(scope="session", autouse=True)
def _end_stray_database_sessions(django_db_setup, django_db_blocker):
    """Async tests leave connections open in Channels' worker threads; on
    PostgreSQL they would keep the test database from being dropped."""
    from django.db import connection

    yield
    # No test database exists when no collected test used one.
    with django_db_blocker.unblock():
        if connection.vendor == "postgresql" and connection.settings_dict["NAME"].startswith("test_"):
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            connection.close()


@pytest.fixture(autouse=True)
def fresh_channel_layer():
    """Each test gets its own channel layer in this process. Daphne runs one
    event loop for its life; pytest runs one per test, and a consumer ended
    mid-receive on one loop (a failed test, a Redis fault) would leave the
    shared layer's receive lock held for the next."""
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


def pytest_collection_modifyitems(config, items):
    """Tests that kill the shared worker or restart the tests' Redis run
    last, so any test they disturb is one that expects disturbance."""
    items.sort(key=lambda item: item.get_closest_marker("faults") is not None)


_EXIT_STATUS = pytest.StashKey[int]()


def pytest_sessionfinish(session, exitstatus):
    session.config.stash[_EXIT_STATUS] = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    """Ends the test process without interpreter finalization, once every
    result is reported and every fixture torn down. A native library's
    thread still running when the interpreter finalizes aborts the process
    ("terminate called without an active exception"), which turned a run of
    all-passing tests into a failed CI run. The engine's own threads stop at
    exit (engine/backends/shutdown.py, tested in tests/engine/test_shutdown.py);
    this guards against the libraries the suite only loads (torch's and
    Arrow's pools, through transformers and `datasets`)."""
    if _EXIT_STATUS not in config.stash:
        return
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(config.stash[_EXIT_STATUS])
