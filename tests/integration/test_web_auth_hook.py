"""kcore-auth's WebAuthHook guarding kcore.webserver's introspection pages, over real HTTP.

kcore-web does not depend on kcore-auth: the hook is a plain callable
(``introspection_auth=``); this test checks the two fit together.
"""

import pytest
import requests

auth = pytest.importorskip("kcore.auth")

DB_PASSWORD = "integration-db-pass"


@pytest.fixture
def guarded_server(tmp_path):
    from kcore.webserver import LoggingAdapter, WebServer

    secret = auth.generate_shared_secret("bob", "bob-pw", "client9", machine_data="machine-x")
    db = str(tmp_path / "auth_db.json")
    assert auth.register(str(secret), DB_PASSWORD, db)
    hook = auth.web_auth_hook(DB_PASSWORD, db_filename=db, check_client_address=False)
    server = WebServer(
        {"/hello": lambda r: "hello"}, logging_adapter=LoggingAdapter(), introspection_auth=hook
    )
    server.start(port=0)
    yield server, secret
    server.shutdown(timeout=10)


def test_introspection_pages_need_a_valid_token(guarded_server):
    server, secret = guarded_server
    base = "http://127.0.0.1:%d" % server.port
    assert requests.get(base + "/varz").status_code == 403
    assert requests.get(base + "/logz", headers={"X-Kcore-Auth": "garbage"}).status_code == 403
    token = auth.generate_token_given_shared_secret("/varz", secret)
    r = requests.get(base + "/varz", headers={"Authorization": "kcore-auth " + token})
    assert r.status_code == 200 and "web-server-start" in r.text
    # The token was for /varz only, and cannot be replayed.
    assert requests.get(base + "/logz", headers={"X-Kcore-Auth": token}).status_code == 403
    assert requests.get(base + "/varz", headers={"X-Kcore-Auth": token}).status_code == 403
    # Pages that are not introspection stay open.
    assert requests.get(base + "/hello").text == "hello"
    assert requests.get(base + "/healthz").text == "ok"
