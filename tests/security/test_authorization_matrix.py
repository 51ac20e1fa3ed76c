"""Who may reach what: every HTTP route, WebSocket route and the API-key
API, against every role and anonymous, with every id in a URL naming another
person's object.

The routes come from the URL configuration itself, and each must have an
entry in POLICY: a route added without saying who may use it fails
`test_every_route_has_a_policy`, so no new page can be forgotten.

A principal *is refused* when every method answers 401, 403, 404, 405 or a
redirect to the login page (with `next=`) or the waiting page, and the victim's secret text is in
no answer. A principal *gets in* when some method answers anything else
(the view ran: 200, a form error, a redirect after a POST). No answer may
be a server error, but for the health check's 503, its way of saying a
worker is missing.
"""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from arena.routing import websocket_urlpatterns as arena_ws
from chat.models import ChatImport, Conversation, Message, MessageStatus, SettingsPreset
from chat.routing import websocket_urlpatterns as chat_ws
from jobs.models import TrainingJob
from jobs.routing import websocket_urlpatterns as jobs_ws
from labeling.assignments import task_assign_next, task_create_demonstration
from labeling.datasets import snapshot_create
from labeling.models import DatasetSnapshot, Demonstration, Prompt
from labeling.text import messages_hash
from moderation.flags import review_item_create
from openai_api.services import api_key_create
from registry.models import ModelVersion

from ..arena.helpers import played_match
from ..helpers.sockets import cookie_of, open_socket
from ..moderation.factories import make_verdict

SECRET = "VICTIM-SECRET-7f3a"

ANONYMOUS, PENDING, USER, ANNOTATOR, MODERATOR, TRAINER, ARENA, ADMIN, OWNER = (
    "anonymous",
    "pending",
    "user",
    "annotator",
    "moderator",
    "trainer",
    "arena",
    "admin",
    "owner",
)
PRINCIPALS = (ANONYMOUS, PENDING, USER, ANNOTATOR, MODERATOR, TRAINER, ARENA, ADMIN, OWNER)

EVERYONE = frozenset(PRINCIPALS)
SIGNED_IN = EVERYONE - {ANONYMOUS}
APPROVED = SIGNED_IN - {PENDING}
# The owner is an annotator let into the arena and given the right to train.
LABELERS = frozenset({ANNOTATOR, MODERATOR, ADMIN, OWNER})
MODERATORS = frozenset({MODERATOR, ADMIN})
TRAINERS = frozenset({TRAINER, ADMIN, OWNER})
ARENA_USERS = frozenset({ARENA, ADMIN, OWNER})
ADMINS = frozenset({ADMIN})
ONLY_OWNER = frozenset({OWNER})

# Route name -> who gets in, with each URL id naming the owner's object.
POLICY = {
    # A signed-in account is sent on from the sign-in and sign-up pages: one waiting for approval to the waiting page.
    "login": EVERYONE - {PENDING},
    "logout": EVERYONE,
    "healthz": EVERYONE,
    "readiness": EVERYONE,
    # Prometheus scrapes with METRICS_TOKEN (tests/metrics); of sessions, only admins'.
    "metrics": ADMINS,
    "usage:dashboard": ADMINS,
    "feedback:list": ADMINS,
    "accounts:signup": EVERYONE - {PENDING},
    "accounts:pending": EVERYONE,
    "accounts:settings": SIGNED_IN,
    "accounts:theme": SIGNED_IN,
    # The addresses the password pages had before allauth: redirects to allauth's, which check.
    "accounts:password-change": EVERYONE,
    "accounts:password-reset": EVERYONE,
    # allauth's pages (accounts/allauth_urls.py); its sign-in and sign-up are shadowed by ours.
    "account_login": EVERYONE - {PENDING},
    "account_signup": EVERYONE - {PENDING},
    "account_logout": EVERYONE,
    "account_inactive": EVERYONE,
    # Confirming the password again: these accounts have none (SSO-only accounts neither), so all are refused.
    "account_reauthenticate": frozenset(),
    "account_email": SIGNED_IN,
    "account_email_verification_sent": EVERYONE,
    "account_confirm_email": EVERYONE,
    "account_change_password": SIGNED_IN,
    "account_set_password": SIGNED_IN,
    # A forgotten password is reset from a link, signed in or not.
    "account_reset_password": EVERYONE,
    "account_reset_password_done": EVERYONE,
    "account_reset_password_from_key": EVERYONE,
    "account_reset_password_from_key_done": EVERYONE,
    # Sign-in by emailed code is off: the page sends everyone back to sign in (the waiting, to wait).
    "account_confirm_login_code": EVERYONE - {PENDING},
    # Single sign-on: what the provider answers decides (tests/accounts/test_sso.py); each
    # account's connections are its own. No provider is configured here, so their pages are 404.
    "socialaccount_login_cancelled": EVERYONE,
    "socialaccount_login_error": frozenset(),
    "socialaccount_signup": EVERYONE,
    "socialaccount_connections": SIGNED_IN,
    "openid_connect_login": frozenset(),
    "openid_connect_callback": frozenset(),
    "github_login": frozenset(),
    "github_callback": frozenset(),
    "google_login": frozenset(),
    "google_callback": frozenset(),
    "google_login_by_token": frozenset(),
    # Each account's own data; one waiting for approval may delete itself too.
    "data_controls:export": SIGNED_IN,
    "data_controls:delete-chats": SIGNED_IN,
    "data_controls:delete-account": SIGNED_IN,
    "data_controls:reports": SIGNED_IN,
    # Importing chats is chatting: approved accounts; each import is its owner's.
    "data_controls:imports": APPROVED,
    "data_controls:import-stop-sharing": ONLY_OWNER,
    "accounts:users": ADMINS,
    "accounts:user-update": ADMINS,
    # Chat: another person's conversation looks like none at all, even to admins.
    "chat:home": APPROVED,
    "chat:conversation": ONLY_OWNER,
    "chat:export": ONLY_OWNER,
    "chat:api-conversations": APPROVED,
    "chat:api-conversation": ONLY_OWNER,
    "chat:api-select": ONLY_OWNER,
    "chat:api-model": ONLY_OWNER,
    "chat:api-message": ONLY_OWNER,
    "chat:api-feedback": ONLY_OWNER,
    "chat:api-report": ONLY_OWNER,
    # Each user's own chat defaults and presets; another's preset looks like none.
    "chat:api-defaults": APPROVED,
    "chat:api-presets": APPROVED,
    "chat:api-preset": ONLY_OWNER,
    # The OpenAI API answers to API keys only (test_api_keys_matrix).
    "openai-models": frozenset(),
    "openai-chat-completions": frozenset(),
    "api-keys": APPROVED,
    "api-key-create": APPROVED,
    "api-key-revoke": ONLY_OWNER,
    "review:review-list": MODERATORS,
    "review:review-bulk-decide": MODERATORS,
    "review:review-detail": MODERATORS,
    "review:review-decide": MODERATORS,
    "review:dashboard": MODERATORS,
    "review:classifier": MODERATORS,
    # Retraining and promoting the classifier change what everyone's chat lets through.
    "review:classifier-retrain": ADMINS,
    "review:classifier-promote": ADMINS,
    # Jobs: their owner and admins.
    "jobs:list": TRAINERS,
    "jobs:create": TRAINERS,
    "jobs:detail": frozenset({OWNER, ADMIN}),
    "jobs:log": frozenset({OWNER, ADMIN}),
    "jobs:cancel": frozenset({OWNER, ADMIN}),
    "jobs:resume": frozenset({OWNER, ADMIN}),
    "jobs:evaluation-sets": TRAINERS,
    "versions:list": TRAINERS,
    "versions:lineage": TRAINERS,
    "versions:promote": ADMINS,
    # Which versions every chat user may pick.
    "versions:chat": ADMINS,
    "arena:home": ARENA_USERS,
    "arena:trial": ADMINS,
    "arena:leaderboard": ADMINS,
    "arena:api-match": ONLY_OWNER,
    "arena:api-vote": ONLY_OWNER,
    # Which versions every arena user gets answers from.
    "arena:version-arena": ADMINS,
    "labeling:home": LABELERS,
    "labeling:prompt-write": LABELERS,
    "labeling:next": LABELERS,
    "labeling:assignment": ONLY_OWNER,
    "labeling:demonstration-submit": ONLY_OWNER,
    "labeling:ranking-submit": ONLY_OWNER,
    "labeling:label-submit": ONLY_OWNER,
    "labeling:user-reply-submit": ONLY_OWNER,
    "labeling:skip": ONLY_OWNER,
    "labeling:preview": LABELERS,
    "labeling:admin-prompts": ADMINS,
    "labeling:admin-prompt": ADMINS,
    "labeling:admin-import": ADMINS,
    "labeling:admin-generate": ADMINS,
    "labeling:admin-demonstration-tasks": ADMINS,
    "labeling:admin-snapshots": ADMINS,
    "labeling:admin-snapshot-create": ADMINS,
    "labeling:admin-snapshot-download": ADMINS,
    "labeling:admin-snapshot-hub-download": ADMINS,
    "labeling:admin-answer-tasks": ADMINS,
    "labeling:admin-answer-tasks-create": ADMINS,
    "labeling:admin-annotators": ADMINS,
    "labeling:admin-gold-clear": ADMINS,
    "labeling:admin-gold": ADMINS,
    "labeling:admin-gold-mark": ADMINS,
    "labeling:admin-gold-label-mark": ADMINS,
    "labeling:admin-gold-active": ADMINS,
    "labeling:admin-flagged": ADMINS,
    "labeling:admin-guidelines": ADMINS,
}

# WebSocket route -> who may open it (the jobs socket for the owner's job).
WEBSOCKET_POLICY = {
    "ws/chat/": APPROVED,
    "ws/arena/": ARENA_USERS,
    "ws/jobs/<int:job_id>/": frozenset({OWNER, ADMIN}),
}


def _routes(patterns=None, prefix="", namespace=""):
    """(route, name) for every URL pattern, Django's admin aside: it is
    Django's own and checks `is_staff` itself."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace == "admin":
                continue
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _routes(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), namespace + (pattern.name or "")


ROUTES = dict((name, route) for route, name in _routes())


def test_every_route_has_a_policy():
    unnamed = [route for route, name in _routes() if name.endswith(":") or not name]
    assert not unnamed, f"routes without a name: {unnamed}"
    assert set(ROUTES) - set(POLICY) == set(), "routes with no entry in POLICY: say who may use them"
    assert set(POLICY) - set(ROUTES) == set(), "POLICY names routes that no longer exist"
    websocket_routes = {str(p.pattern) for p in chat_ws + arena_ws + jobs_ws}
    assert websocket_routes == set(WEBSOCKET_POLICY)


@pytest.fixture
def world(django_user_model, settings, tmp_path, captured_tasks):
    """One account per principal, and the owner's objects, each holding
    SECRET. The chat tasks that creating them would enqueue are recorded,
    not sent: no worker is part of these tests."""
    settings.DATA_DIR = tmp_path / "data"

    def make_user(username, **fields):  # no password: hashing one costs a third of a second
        return django_user_model.objects.create_user(username=username, **fields)

    train = Permission.objects.get(codename="add_trainingjob", content_type__app_label="jobs")
    owner = make_user(username="owner", role="annotator", arena_enabled=True)
    owner.user_permissions.add(train)
    trainer = make_user(username="trainer")
    trainer.user_permissions.add(train)
    users = {
        PENDING: make_user(username="pending", is_approved=False),
        USER: make_user(username="plain"),
        ANNOTATOR: make_user(username="annotator", role="annotator"),
        MODERATOR: make_user(username="moderator", role="moderator"),
        TRAINER: trainer,
        ARENA: make_user(username="arena", arena_enabled=True),
        ADMIN: make_user(username="admin", role="admin"),
        OWNER: owner,
    }

    conversation = Conversation.objects.create(owner=owner, title=f"Plans {SECRET}")
    question = Message.objects.create(
        conversation=conversation, role="user", content=f"My secret is {SECRET}", status=MessageStatus.ACCEPTED
    )
    review_item = review_item_create(message=question, direction="input", text=SECRET, verdict=make_verdict("hate"))
    version = ModelVersion.objects.create(
        name="owner-policy", source="imported", path=str(tmp_path), kind="policy", arena_enabled=True
    )
    ModelVersion.objects.create(name="serving-policy", source="imported", path=str(tmp_path), is_serving=True)
    classifier = ModelVersion.objects.create(
        name="classifier-head", source="trained", path=str(tmp_path), kind="classifier"
    )
    match = played_match(owner, content=f"Arena question {SECRET}")
    job_dir = tmp_path / "job"
    job_dir.mkdir()
    (job_dir / "log.txt").write_text(f"log line {SECRET}\n")
    job = TrainingJob.objects.create(kind="sft", created_by=owner, base_version=version, directory=str(job_dir))
    messages = [{"role": "user", "content": f"Write about {SECRET}"}]
    prompt = Prompt.objects.create(messages=messages, source=Prompt.Source.IMPORT, content_hash=messages_hash(messages))
    task_create_demonstration(prompt=prompt, required_annotations=1)
    assignment = task_assign_next(annotator=owner, kind="demonstration")
    Demonstration.objects.create(
        prompt=prompt, content=f"Demonstration {SECRET}", moderation=Demonstration.Moderation.PASSED
    )
    snapshot = snapshot_create(name="demos", kind=DatasetSnapshot.Kind.SFT)
    api_key, _ = api_key_create(user=owner, name=f"key {SECRET}")
    preset = SettingsPreset.objects.create(
        owner=owner, name=f"Preset {SECRET}", system_prompt=SECRET, temperature=0.7, top_p=0.9, max_new_tokens=64
    )
    chat_import = ChatImport.objects.create(
        owner=owner, format=ChatImport.Format.CHATGPT, file_name=f"{SECRET}.json", file_size=1, shares_prompts=True
    )
    ids = {
        "import_id": chat_import.pk,
        "conversation_id": conversation.pk,
        "message_id": question.pk,
        "item_id": review_item.pk,
        "match_id": match.pk,
        "version_id": version.pk,
        "job_id": job.pk,
        "assignment_id": assignment.pk,
        "snapshot_id": snapshot.pk,
        "prompt_id": prompt.pk,
        "key_id": api_key.pk,
        "preset_id": preset.pk,
        "user_id": owner.pk,
        "classifier_version_id": classifier.pk,
    }
    return users, ids


# URL arguments that are not object ids.
_NAMED_ARGUMENTS = {
    "chat:export": {"fmt": "md"},
    "labeling:next": {"kind": "demonstration"},
    "account_reset_password_from_key": {"uidb36": "1", "key": "set-password"},
    "account_confirm_email": {"key": "made-up"},
    "openid_connect_login": {"provider_id": "oidc"},
    "openid_connect_callback": {"provider_id": "oidc"},
    "labeling:admin-snapshot-download": {"fmt": "sft-messages"},
    "labeling:admin-snapshot-hub-download": {"fmt": "sft-messages"},
    # No gold item exists: an admin is told so, anyone else is refused first.
    "labeling:admin-gold-active": {"gold_id": 1},
}


def _url(name: str, ids: dict) -> str:
    route = ROUTES[name]
    kwargs = {key: value for key, value in ids.items() if f":{key}>" in route}
    kwargs.update(_NAMED_ARGUMENTS.get(name, {}))
    if name == "review:classifier-promote":
        kwargs["version_id"] = ids["classifier_version_id"]
    return reverse(name, kwargs=kwargs)


def _is_refusal(response) -> bool:
    if response.status_code in (401, 403, 404, 405):
        return True
    location = response.headers.get("Location", "")
    return response.status_code == 302 and (
        location.startswith("/accounts/login/?next=") or location.startswith("/accounts/pending/")
    )


def _client(principal: str, users: dict) -> Client:
    client = Client()
    if principal != ANONYMOUS:
        client.force_login(users[principal])
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(POLICY))
def test_route_lets_in_exactly_its_principals(world, name):
    users, ids = world
    url = _url(name, ids)
    wrong = []
    for principal in PRINCIPALS:
        responses = [
            _client(principal, users).get(url),
            _client(principal, users).post(url, data={}),
        ]
        for response in responses:
            assert response.status_code < 500 or (name == "healthz" and response.status_code == 503), (
                f"{principal} {response.request['REQUEST_METHOD']} {url}: {response.status_code}"
            )
        got_in = not all(_is_refusal(r) for r in responses)
        if got_in != (principal in POLICY[name]):
            wrong.append(f"{principal} {'got in' if got_in else 'was refused'} ({[r.status_code for r in responses]})")
        if not got_in:
            leaked = [r for r in responses if not getattr(r, "streaming", False) and SECRET.encode() in r.content]
            assert not leaked, f"{principal} was refused {url} but saw the owner's secret"
    assert not wrong, f"{url}: " + "; ".join(wrong)


@pytest.mark.django_db
def test_api_keys_matrix(world):
    """The OpenAI API takes only a key of an approved account; a session
    cookie, a revoked key or a pending account's key gets 401."""
    users, _ = world
    for principal in PRINCIPALS:
        headers = {}
        if principal != ANONYMOUS:
            _, raw = api_key_create(user=users[principal], name="matrix")
            headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
        client = _client(principal, users)  # the session must not count
        response = client.get("/v1/models", **headers)
        expected = 200 if principal in APPROVED else 401
        assert response.status_code == expected, principal
        completion = client.post("/v1/chat/completions", data="{}", content_type="application/json", **headers)
        assert completion.status_code == (400 if principal in APPROVED else 401), principal
        assert "error" in completion.json()


@pytest.mark.django_db(transaction=True)
async def test_websocket_routes_let_in_exactly_their_principals(world):
    """A refused socket is closed (44xx) before any frame of data."""
    users, ids = world
    wrong = []
    for route, allowed in WEBSOCKET_POLICY.items():
        path = "/" + route.replace("<int:job_id>", str(ids["job_id"]))
        for principal in PRINCIPALS:
            cookie = await cookie_of(None if principal == ANONYMOUS else users[principal])
            communicator, first = await open_socket(cookie, path)
            await communicator.disconnect()
            if isinstance(first, dict) != (principal in allowed):
                wrong.append(f"{path} {principal}: {'open' if isinstance(first, dict) else f'closed {first}'}")
    assert not wrong, "; ".join(wrong)
