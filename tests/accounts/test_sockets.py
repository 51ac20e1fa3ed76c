"""accounts/sockets.py: an open socket does not outlive its account's
rights. When they change (a ban, lost approval, a role, arena access or a
permission removed, a logout, a new password), every socket of that account
is closed with 4001 and the page reconnects; the handshake then decides on
the account as it is now. Other users' sockets go on working."""

import pytest
from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.test import Client

from accounts.services import user_update_access
from core.user_sockets import ACCOUNT_CHANGED
from jobs.models import TrainingJob

from ..conftest import session_cookie
from ..helpers.sockets import open_socket

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "a-Strong-pass-123"


def signed_in_client(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def cookie_of(client: Client) -> str:
    return client.cookies[settings.SESSION_COOKIE_NAME].value


async def closed_code(communicator) -> int:
    output = await communicator.receive_output(timeout=10)
    assert output["type"] == "websocket.close", f"the socket stayed open: {output}"
    return output["code"]


async def still_works(communicator) -> None:
    await communicator.send_json_to({"type": "ping"})
    assert (await communicator.receive_json_from(timeout=10))["type"] == "pong"


@pytest.fixture
def bystander(make_user):
    return make_user(username="bystander", arena_enabled=True)


async def check_closed(victim_cookie: str, path: str, change, code_after: int, bystander) -> None:
    """The victim's socket on `path` is closed by `change` (run in a thread);
    connecting again with the same cookie gets `code_after`; the
    bystander's sockets never notice."""
    victim, first = await open_socket(victim_cookie, path)
    assert isinstance(first, dict), f"the victim could connect before the change: {first}"
    others = [
        (await open_socket(await database_sync_to_async(session_cookie)(bystander), p))[0]
        for p in ("/ws/chat/", "/ws/arena/")
    ]
    await database_sync_to_async(change)()
    assert await closed_code(victim) == ACCOUNT_CHANGED
    await victim.disconnect()
    again, code = await open_socket(victim_cookie, path)
    assert code == code_after
    await again.disconnect()
    for other in others:
        await still_works(other)
        await other.disconnect()


async def test_a_ban_closes_the_socket(make_user, bystander):
    victim = await database_sync_to_async(make_user)(username="victim")
    cookie = await database_sync_to_async(session_cookie)(victim)

    def ban():  # what the Django admin's change form does: a full save
        victim.is_active = False
        victim.save()

    await check_closed(cookie, "/ws/chat/", ban, 4401, bystander)


async def test_lost_approval_closes_the_socket(make_user, bystander):
    victim = await database_sync_to_async(make_user)(username="victim")
    cookie = await database_sync_to_async(session_cookie)(victim)
    await check_closed(cookie, "/ws/chat/", lambda: user_update_access(user=victim, is_approved=False), 4401, bystander)


async def test_a_removed_role_closes_the_arena_and_job_sockets(make_user, bystander):
    victim = await database_sync_to_async(make_user)(username="victim", role="admin")
    cookie = await database_sync_to_async(session_cookie)(victim)
    job = await database_sync_to_async(TrainingJob.objects.create)(
        kind="sft", preset="cpu-quick", recipe="training.sft", created_by=bystander, state="running"
    )
    job_socket, snapshot = await open_socket(cookie, f"/ws/jobs/{job.pk}/")
    assert snapshot["type"] == "snapshot", "an admin hears anyone's job"
    await check_closed(cookie, "/ws/arena/", lambda: user_update_access(user=victim, role="user"), 4403, bystander)
    assert await closed_code(job_socket) == ACCOUNT_CHANGED
    await job_socket.disconnect()
    again, code = await open_socket(cookie, f"/ws/jobs/{job.pk}/")
    assert code == 4403
    await again.disconnect()


async def test_removed_arena_access_closes_the_arena_socket(make_user, bystander):
    victim = await database_sync_to_async(make_user)(username="victim", arena_enabled=True)
    cookie = await database_sync_to_async(session_cookie)(victim)
    await check_closed(
        cookie, "/ws/arena/", lambda: user_update_access(user=victim, arena_enabled=False), 4403, bystander
    )


@pytest.mark.parametrize("through_group", [False, True])
async def test_a_removed_training_permission_closes_the_job_socket(make_user, bystander, through_group):
    victim = await database_sync_to_async(make_user)(username="victim")
    permission = await database_sync_to_async(Permission.objects.get)(
        codename="add_trainingjob", content_type__app_label="jobs"
    )
    group = await database_sync_to_async(Group.objects.create)(name="trainers")

    def grant():
        if through_group:
            group.permissions.add(permission)
            victim.groups.add(group)
        else:
            victim.user_permissions.add(permission)
        return TrainingJob.objects.create(
            kind="sft", preset="cpu-quick", recipe="training.sft", created_by=victim, state="running"
        )

    job = await database_sync_to_async(grant)()
    cookie = await database_sync_to_async(session_cookie)(victim)
    revoke = (
        (lambda: group.permissions.remove(permission))
        if through_group
        else (lambda: victim.user_permissions.remove(permission))
    )
    await check_closed(cookie, f"/ws/jobs/{job.pk}/", revoke, 4403, bystander)


async def test_leaving_the_group_closes_the_job_socket(make_user, bystander):
    victim = await database_sync_to_async(make_user)(username="victim")

    def grant():
        group = Group.objects.create(name="trainers")
        group.permissions.add(Permission.objects.get(codename="add_trainingjob", content_type__app_label="jobs"))
        victim.groups.add(group)
        job = TrainingJob.objects.create(
            kind="sft", preset="cpu-quick", recipe="training.sft", created_by=victim, state="running"
        )
        return group, job

    group, job = await database_sync_to_async(grant)()
    cookie = await database_sync_to_async(session_cookie)(victim)
    await check_closed(cookie, f"/ws/jobs/{job.pk}/", lambda: group.user_set.clear(), 4403, bystander)


async def test_logging_out_closes_the_socket(make_user, bystander):
    victim = await database_sync_to_async(make_user)(username="victim")
    client = await database_sync_to_async(signed_in_client)(victim)
    cookie = cookie_of(client)
    await check_closed(cookie, "/ws/chat/", lambda: client.post("/accounts/logout/"), 4401, bystander)


async def test_a_new_password_closes_the_sockets_of_the_other_sessions(make_user, bystander):
    """The stolen session stays out; the browser that changed the password
    gets back in with its own (rotated) session."""
    victim = await database_sync_to_async(make_user)(username="victim")
    thief = await database_sync_to_async(signed_in_client)(victim)
    owner = await database_sync_to_async(signed_in_client)(victim)
    owners_socket, _ = await open_socket(cookie_of(owner))

    def change_password():
        response = owner.post(
            "/accounts/password/change/",
            {"oldpassword": PASSWORD, "password1": "another-Strong-pass-456", "password2": "another-Strong-pass-456"},
        )
        assert response.status_code == 302, response.content[:500]

    await check_closed(cookie_of(thief), "/ws/chat/", change_password, 4401, bystander)
    assert await closed_code(owners_socket) == ACCOUNT_CHANGED
    await owners_socket.disconnect()
    again, first = await open_socket(cookie_of(owner))
    assert first["type"] == "ready", "the owner's page reconnects with its new session"
    await again.disconnect()
