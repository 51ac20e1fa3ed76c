"""The database unreachable: a real Daphne whose DATABASE_URL points at a
port where nothing listens. Every kind of request fails with a clear,
retryable error, never a traceback."""

import json
import urllib.error
import urllib.request

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as ws_connect

from ..processes import free_port, start_asgi_server

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def server_without_database(app_env, process_log_dir):
    env = dict(app_env, DATABASE_URL=f"postgres://chatsite:chatsite@127.0.0.1:{free_port()}/gone")
    log_dir = process_log_dir / "no-database"
    log_dir.mkdir(exist_ok=True)
    server, url = start_asgi_server(env, log_dir)
    yield url
    server.stop()


def _get(url: str, **headers):
    request = urllib.request.Request(url, headers={"Cookie": "sessionid=some-session", **headers})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode()


def test_the_json_api_says_503_and_when_to_retry(server_without_database):
    status, headers, body = _get(f"{server_without_database}/api/conversations/")
    assert status == 503 and headers["Retry-After"] == "5"
    assert json.loads(body) == {"error": json.loads(body)["error"], "code": "unavailable"}
    assert "database cannot be reached" in json.loads(body)["error"]


def test_a_page_says_so_in_words(server_without_database):
    status, headers, body = _get(f"{server_without_database}/accounts/settings/")
    assert status == 503 and headers["Retry-After"] == "5"
    assert "Briefly unavailable" in body and "Traceback" not in body and "OperationalError" not in body


def test_the_websocket_closes_with_4503(server_without_database):
    url = server_without_database.replace("http://", "ws://") + "/ws/chat/"
    with ws_connect(
        url, additional_headers={"Cookie": "sessionid=some-session", "Origin": "http://127.0.0.1"}, open_timeout=30
    ) as socket:
        with pytest.raises(ConnectionClosed) as closed:
            socket.recv(timeout=30)
    assert closed.value.rcvd.code == 4503


def test_healthz_names_the_database(server_without_database):
    status, _, body = _get(f"{server_without_database}/healthz")
    assert status == 503 and json.loads(body)["database"]["ok"] is False
