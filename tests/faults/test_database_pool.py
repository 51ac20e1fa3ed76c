"""Pool exhaustion: a real web process whose pool holds one PostgreSQL
connection (DATABASE_POOL_MAX_SIZE=1), and a request holding it while it
waits on a lock this test takes on the sessions table. Every other request
waits DATABASE_POOL_TIMEOUT (1 s) for a connection and then gets the 503 a
database outage gets (psycopg_pool's PoolTimeout is an OperationalError),
never a hang."""

import json
import threading
import urllib.error
import urllib.request

import psycopg
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as ws_connect

from ..helpers.polling import eventually
from ..processes import start_asgi_server

# django_db: so that the test database exists (this process never writes to it).
pytestmark = [pytest.mark.django_db, pytest.mark.integration, pytest.mark.faults]

# Far beyond the pool's 1 s wait, far below a hang.
CLIENT_TIMEOUT = 15


def _get(url: str, **headers):
    request = urllib.request.Request(url, headers={"Cookie": "sessionid=some-session", **headers})
    try:
        with urllib.request.urlopen(request, timeout=CLIENT_TIMEOUT) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode()


def _waiting_on_sessions(database_url: str) -> int:
    with psycopg.connect(database_url, autocommit=True) as observer:
        return observer.execute(
            "SELECT count(*) FROM pg_locks WHERE relation = 'django_session'::regclass AND NOT granted"
        ).fetchone()[0]


@pytest.fixture(scope="module")
def one_connection_server(app_env, process_log_dir):
    if not app_env["DATABASE_URL"].startswith("postgres"):
        pytest.skip("the connection pool is PostgreSQL's")
    env = dict(app_env, DATABASE_POOL_MAX_SIZE="1", DATABASE_POOL_MIN_SIZE="1", DATABASE_POOL_TIMEOUT="1")
    log_dir = process_log_dir / "one-connection-pool"
    log_dir.mkdir(exist_ok=True)
    server, url = start_asgi_server(env, log_dir, name="web-one-connection")
    yield url
    server.stop()


@pytest.fixture
def exhausted_server(one_connection_server, app_env):
    """The server's one connection held by a request waiting on a lock;
    the lock released, and that request answered, after the test."""
    database_url, url = app_env["DATABASE_URL"], one_connection_server
    holder_status = []
    with psycopg.connect(database_url) as locker:
        locker.execute("LOCK TABLE django_session IN ACCESS EXCLUSIVE MODE")
        # Its session lookup takes the pool's only connection and waits.
        holder = threading.Thread(target=lambda: holder_status.append(_get(f"{url}/accounts/settings/")[0]))
        holder.start()
        eventually(
            lambda: _waiting_on_sessions(database_url),
            timeout=30,
            what="a request holding the connection, waiting on the lock",
        )
        yield url
        locker.rollback()
    holder.join(timeout=CLIENT_TIMEOUT)
    # Answered once the lock was gone: the sign-in page, after the redirect.
    assert holder_status == [200]


def test_a_page_is_a_503_not_a_hang(exhausted_server):
    status, headers, body = _get(f"{exhausted_server}/accounts/settings/")
    assert status == 503 and headers["Retry-After"] == "5"
    assert "Briefly unavailable" in body and "Traceback" not in body and "PoolTimeout" not in body


def test_the_openai_api_is_a_json_503(exhausted_server):
    status, headers, body = _get(f"{exhausted_server}/v1/models", Authorization="Bearer sk-any-key")
    assert status == 503 and headers["Retry-After"] == "5"
    assert json.loads(body)["code"] == "unavailable"


def test_a_websocket_closes_with_4503(exhausted_server):
    url = exhausted_server.replace("http://", "ws://") + "/ws/chat/"
    with ws_connect(
        url,
        additional_headers={"Cookie": "sessionid=some-session", "Origin": "http://127.0.0.1"},
        open_timeout=CLIENT_TIMEOUT,
    ) as socket:
        with pytest.raises(ConnectionClosed) as closed:
            socket.recv(timeout=CLIENT_TIMEOUT)
    assert closed.value.rcvd.code == 4503
