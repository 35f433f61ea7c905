"""Rate limits: failed logins, public tracking and complaints, guessing delivery codes."""

from __future__ import annotations

import itertools
import os
import uuid

import pytest

from api.proof import policy
from models import Item, Role, TrackingEvent, db

ids = (f"rl-{n:06d}" for n in itertools.count())


@pytest.fixture
def courier(make_user, office):
    return make_user(Role.COURIER, office, username="anh", password="right-pw")


@pytest.fixture
def create_app():
    """Extra app instances (other workers, other settings); their engines are closed."""
    from api import create_app as factory

    made = []

    def make(conf):
        made.append(factory(conf))
        return made[-1]

    yield make
    for extra in made:
        with extra.app_context():
            db.engine.dispose()


def login(client, username, password, addr="10.0.0.1"):
    return client.post("/api/v1/auth/token", json={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": addr})


def assert_rate_limited(r):
    assert r.status_code == 429, r.get_data(as_text=True)[:300]
    assert int(r.headers["Retry-After"]) >= 1


def test_failed_logins_are_limited_per_username_and_successes_cost_nothing(
        app, client, courier, make_user):
    app.config["LOGIN_FAILURE_LIMIT_USER"] = "3 per 15 minutes"
    for _ in range(6):  # a whole office logging in: never held up
        r = login(client, "anh", "right-pw")
        # nor told to wait: Retry-After came with every answer, a login's 201 included
        assert r.status_code == 201 and "Retry-After" not in r.headers
        assert "X-RateLimit-Remaining" in r.headers
    for _ in range(3):
        assert login(client, "ANH ", "guess").status_code == 401  # same account
    r = login(client, "anh", "right-pw", addr="10.9.9.9")  # even right, from elsewhere
    assert_rate_limited(r)
    assert r.mimetype == "application/problem+json"
    assert r.json["type"] == "/problems/rate-limited" and r.json["status"] == 429
    make_user(Role.COURIER, courier.office, username="binh", password="pw2")
    assert login(client, "binh", "pw2").status_code == 201  # other accounts unaffected


def test_failed_logins_are_limited_per_address(app, client, make_user, make_office):
    app.config["LOGIN_FAILURE_LIMIT_IP"] = "4 per 15 minutes"
    make_user(Role.COURIER, make_office(), username="chi", password="pw")
    for n in range(4):  # spraying many usernames from one address
        assert login(client, f"user{n}", "x", addr="10.0.0.7").status_code == 401
    assert_rate_limited(login(client, "chi", "pw", addr="10.0.0.7"))
    assert login(client, "chi", "pw", addr="10.0.0.8").status_code == 201


def test_console_login_says_too_many_attempts_on_its_page(app, client, make_user, office):
    app.config["LOGIN_FAILURE_LIMIT_USER"] = "2 per 15 minutes"
    make_user(Role.DISPATCHER, office, username="dung", password="pw")
    from tests.api.test_console import csrf

    def attempt(password):
        return client.post("/console/login", data={"username": "dung", "password": password,
                                                   "csrf_token": csrf(client)})

    for _ in range(2):
        assert attempt("no").status_code == 401
    r = attempt("pw")
    assert r.status_code == 429 and r.mimetype == "text/html"
    assert "Quá nhiều lần đăng nhập sai" in r.get_data(as_text=True)
    assert "Set-Cookie" not in r.headers or "postal_console=;" in r.headers["Set-Cookie"]
    assert client.get("/console/login").status_code == 200  # the form itself is not limited


def test_failed_logins_through_the_api_and_the_console_share_one_budget(app, client,
                                                                       make_user, office):
    # one account's password guesses are counted together, whichever door they try:
    # 2 through the API and 1 through the console reach a limit of 3
    app.config["LOGIN_FAILURE_LIMIT_USER"] = "3 per 15 minutes"
    make_user(Role.DISPATCHER, office, username="em", password="pw")
    from tests.api.test_console import csrf

    def console(password, addr="10.0.0.1"):
        return client.post("/console/login", data={"username": "em", "password": password,
                                                   "csrf_token": csrf(client)},
                           environ_base={"REMOTE_ADDR": addr})

    for _ in range(2):
        assert login(client, "em", "guess").status_code == 401
    assert console("guess").status_code == 401
    assert console("pw", addr="10.9.9.9").status_code == 429
    assert_rate_limited(login(client, "em", "pw", addr="10.9.9.9"))
    # and per address: spraying names over both doors from one address
    app.config["LOGIN_FAILURE_LIMIT_IP"] = "4 per 15 minutes"
    for n in range(2):
        assert login(client, f"nobody{n}", "x", addr="10.0.0.9").status_code == 401
        r = client.post("/console/login", data={"username": f"no{n}", "password": "x",
                                                "csrf_token": csrf(client)},
                        environ_base={"REMOTE_ADDR": "10.0.0.9"})
        assert r.status_code == 401
    assert_rate_limited(login(client, "em2", "x", addr="10.0.0.9"))


def test_a_console_login_name_padded_past_64_characters_is_no_account(app, client, make_user,
                                                                     office):
    """The console cut the name typed to 64 characters, then dropped the spaces around
    it: ``em``, 61 blanks and anything logged in as ``em``, while the per-name limit
    counted the attempt under the name as sent (its first 64 characters, blanks
    included). Each mix of blanks (space, tab, U+3000 ...) was a name with a budget of
    its own: with the account's guesses spent, a padded name still went on guessing its
    password. A name longer than any account's (the API: a 422) is nobody's."""
    app.config["LOGIN_FAILURE_LIMIT_USER"] = "2 per 15 minutes"
    make_user(Role.DISPATCHER, office, username="em", password="pw")
    from tests.api.test_console import csrf

    def console(name, password, addr):
        return client.post("/console/login", data={"username": name, "password": password,
                                                   "csrf_token": csrf(client)},
                           environ_base={"REMOTE_ADDR": addr})

    for _ in range(2):
        assert console("em", "guess", "10.1.0.1").status_code == 401
    assert console("em", "pw", "10.1.0.2").status_code == 429  # the account's budget is spent
    # a padded name is another key of the limit: it must not reach the account
    r = console("em" + " " * 61 + "\t" + "x", "pw", "10.1.0.3")
    assert r.status_code == 401, r.status_code
    assert client.get("/console/").status_code == 302  # not logged in


def test_a_console_password_is_not_cut_to_256_characters(client, make_user, office):
    """The console compared the first 256 characters of the password typed (the API
    refuses a longer one, 422): a 256-character password followed by anything was
    taken as right."""
    from tests.api.test_console import csrf

    secret = "p" * 256
    make_user(Role.DISPATCHER, office, username="gia", password=secret)

    def console(password):
        return client.post("/console/login", data={"username": "gia", "password": password,
                                                   "csrf_token": csrf(client)})

    assert console(secret + "wrong").status_code == 401
    assert client.get("/console/").status_code == 302  # not logged in
    assert console(secret).status_code == 302


def test_public_tracking_is_limited_per_address(app, client, office, make_item):
    app.config["TRACKING_RATE_LIMIT"] = "3 per minute"
    item = make_item(office)
    for _ in range(3):
        r = client.get(f"/api/v1/track/{item.identifier}", environ_base={"REMOTE_ADDR": "1.2.3.4"})
        assert r.status_code == 200 and "Retry-After" not in r.headers
    assert_rate_limited(client.get(f"/api/v1/track/{item.identifier}",
                                   environ_base={"REMOTE_ADDR": "1.2.3.4"}))
    assert client.get(f"/api/v1/track/{item.identifier}",
                      environ_base={"REMOTE_ADDR": "1.2.3.5"}).status_code == 200
    # the page shares the counter and says so in the page's language
    for _ in range(2):
        assert client.get(f"/track/{item.identifier}?lang=en",
                          environ_base={"REMOTE_ADDR": "1.2.3.6"}).status_code == 200
    assert client.get(f"/api/v1/track/{item.identifier}",
                      environ_base={"REMOTE_ADDR": "1.2.3.6"}).status_code == 200
    r = client.get(f"/track/{item.identifier}?lang=en", environ_base={"REMOTE_ADDR": "1.2.3.6"})
    assert r.status_code == 429 and "Too many lookups" in r.get_data(as_text=True)


def complain(client, item, addr, phone="0912345678"):
    return client.post(f"/api/v1/track/{item.identifier}/complaints",
                       json={"phone": phone, "category": "not_received",
                             "description": "Chưa nhận được hàng"},
                       environ_base={"REMOTE_ADDR": addr})


def test_public_complaints_are_limited_per_item_and_per_address(app, client, office,
                                                                make_item):
    app.config["COMPLAINT_LIMIT_ITEM"] = "2 per day"
    app.config["COMPLAINT_LIMIT_IP"] = "3 per hour"
    items = [make_item(office) for _ in range(3)]
    assert complain(client, items[0], "5.5.5.1").status_code == 201
    assert complain(client, items[0], "5.5.5.2").status_code == 201
    assert_rate_limited(complain(client, items[0], "5.5.5.3"))  # third about one item
    assert complain(client, items[1], "5.5.5.1").status_code == 201
    assert complain(client, items[2], "5.5.5.1").status_code == 201
    assert_rate_limited(complain(client, items[2], "5.5.5.1"))  # fourth from one address
    # the no-JavaScript form on the tracking page counts with the API and says so
    r = client.post(f"/track/{items[0].identifier}/complaint?lang=en",
                    data={"phone": "0912345678", "category": "not_received",
                          "description": "Chưa nhận được hàng"},
                    environ_base={"REMOTE_ADDR": "5.5.5.9"})
    assert r.status_code == 429 and "Too many complaints" in r.get_data(as_text=True)
    assert ">Chưa nhận được hàng</textarea>" in r.get_data(as_text=True)  # kept to resend
    # another spelling of the same number is the same item, and the same counter
    n = items[0].identifier
    for spelling in (n.lower(), f"{n[:2]}-{n[2:5]} {n[5:8]}-{n[8:11]} {n[11:]}"):
        r = client.post(f"/api/v1/track/{spelling}/complaints",
                        json={"phone": "0912345678", "category": "not_received",
                              "description": "Chưa nhận được hàng"},
                        environ_base={"REMOTE_ADDR": "5.5.5.10"})
        assert_rate_limited(r)


def test_the_complaint_form_shows_no_history_past_the_lookup_limit(app, client, office,
                                                                     make_item):
    """The complaint form answers with the item's page, its history included: a lookup,
    counted with the page's and the JSON's. Refused (a form left empty, too many
    complaints), it showed the history all the same, uncounted, so an address out of
    lookups looked up any item, as often as it liked, through the form."""
    app.config["TRACKING_RATE_LIMIT"] = "2 per minute"
    app.config["COMPLAINT_LIMIT_IP"] = "1 per hour"
    item = make_item(office, events=("EMG",))
    env = {"REMOTE_ADDR": "7.7.7.7"}
    url = f"/track/{item.identifier}/complaint?lang=en"
    r = client.post(url, data={}, environ_base=env)  # left empty: refused, the page shown
    assert r.status_code == 422 and 'id="events"' in r.text
    assert client.get(f"/api/v1/track/{item.identifier}", environ_base=env).status_code == 200
    for _ in range(3):  # the two lookups used, one by the form: no history any more
        r = client.post(url, data={}, environ_base=env)
        assert r.status_code == 429 and 'id="events"' not in r.text
        assert "Arrived at the delivery office" not in r.text
    assert_rate_limited(client.get(f"/api/v1/track/{item.identifier}", environ_base=env))
    # an address with lookups left is told it sent too many complaints, its text kept
    r = client.post(url, data={"phone": "0912345678", "category": "late",
                               "description": "Chưa nhận được hàng"},
                    environ_base={"REMOTE_ADDR": "7.7.7.8"})
    assert r.status_code == 201
    r = client.post(url, data={"phone": "0912345678", "category": "late",
                               "description": "Chưa nhận được hàng"},
                    environ_base={"REMOTE_ADDR": "7.7.7.8"})
    assert r.status_code == 429 and "Too many complaints" in r.text
    assert ">Chưa nhận được hàng</textarea>" in r.text
    # lookups limited over a longer window than complaints: the limit of complaints,
    # checked first, refuses the form before its lookup is counted; no history then
    app.config["TRACKING_RATE_LIMIT"] = "100 per day"
    env = {"REMOTE_ADDR": "7.7.7.9"}
    assert client.post(url, data={}, environ_base=env).status_code == 422
    r = client.post(url, data={}, environ_base=env)
    assert r.status_code == 429 and 'id="events"' not in r.text


def deliver(client, h, item, proof):
    return client.post(f"/api/v1/items/{item.identifier}/events", headers=h, json={
        "code": "EMI", "client_event_id": next(ids), "device_time": "2026-11-20T09:00:00+07:00",
        "location": {"lat": 12.238, "lon": 109.196, "accuracy_m": 8}, "proof": proof})


def coded_item(make_item, office, courier):
    item = make_item(office, courier=courier, events=("EMG", "EDG"),
                     cod_amount=policy.CODE_COD_THRESHOLD)
    db.session.refresh(item)
    assert item.delivery_code
    return item


def test_a_delivery_code_cannot_be_guessed_by_retrying(app, client, auth, office, courier,
                                                        make_item, full_proof):
    app.config["PROOF_FAILURE_LIMIT"] = "5 per hour"
    item, other = coded_item(make_item, office, courier), coded_item(make_item, office, courier)
    h = auth(courier)
    code = item.delivery_code
    for n in range(5):
        guess = f"{(int(code) + 1 + n) % 10**6:06d}"
        r = deliver(client, h, item, full_proof(item, delivery_code=guess))
        assert r.status_code == 422 and r.json["errors"][0]["pointer"] == "/proof/delivery_code"
    r = deliver(client, h, item, full_proof(item, delivery_code=code))  # right, too late
    assert_rate_limited(r)
    assert r.json["type"] == "/problems/too-many-attempts"
    stored = db.session.get(Item, item.id)
    assert stored.status.value == "out_for_delivery" and stored.delivery_code == code
    assert db.session.query(TrackingEvent).filter_by(item_id=item.id, code="EMI").count() == 0
    # other items are not affected
    assert deliver(client, h, other, full_proof(other)).status_code == 201


def test_guesses_through_sync_count_too_and_are_reported_per_entry(app, client, auth, office,
                                                                     courier, make_item,
                                                                     full_proof):
    app.config["PROOF_FAILURE_LIMIT"] = "2 per hour"
    item = coded_item(make_item, office, courier)
    wrong = f"{(int(item.delivery_code) + 1) % 10**6:06d}"
    entries = [{"kind": "event", "identifier": item.identifier, "code": "EMI",
                "client_event_id": next(ids), "device_time": f"2026-11-20T09:0{n}:00+07:00",
                "location": {"lat": 12.238, "lon": 109.196, "accuracy_m": 8},
                "proof": full_proof(item, delivery_code=c)}
               for n, c in enumerate([wrong, wrong, item.delivery_code])]
    r = client.post("/api/v1/sync", headers=auth(courier),
                    json={"device_id": "phone-1", "events": entries})
    assert r.status_code == 200, r.json
    problems = [e["problem"]["status"] for e in r.json["results"]]
    assert problems == [422, 422, 429], r.json["results"]
    assert r.json["results"][0]["problem"]["errors"][0]["pointer"] == "/proof/delivery_code"
    assert r.json["results"][2]["problem"]["type"] == "/problems/too-many-attempts"
    assert db.session.get(Item, item.id).status.value == "out_for_delivery"


def test_limits_can_be_turned_off(app, clock, create_app):
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    conf = {"TESTING": True, "SQLALCHEMY_DATABASE_URI": uri, "CLOCK": clock,
            "SECRET_KEY": "t", "RATELIMIT_STORAGE_URI": "memory://",
            "TRACKING_RATE_LIMIT": "1 per minute"}
    on = create_app(conf).test_client()
    assert on.get("/api/v1/track/EE123456785VN").status_code == 404
    assert on.get("/api/v1/track/EE123456785VN").status_code == 429
    off = create_app({**conf, "RATELIMIT_ENABLED": False}).test_client()
    assert [off.get("/api/v1/track/EE123456785VN").status_code for _ in range(3)] == [404] * 3


def test_proxy_fix_makes_forwarded_clients_distinct(app, clock, create_app):
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": uri, "CLOCK": clock,
                      "SECRET_KEY": "t", "PROXY_FIX_X_FOR": 1,
                      "RATELIMIT_STORAGE_URI": "memory://", "TRACKING_RATE_LIMIT": "1 per minute"})
    c = app.test_client()
    hdr = {"REMOTE_ADDR": "127.0.0.1"}  # every request comes through the proxy
    r1 = c.get("/api/v1/track/EE123456785VN", headers={"X-Forwarded-For": "9.9.9.1"},
               environ_base=hdr)
    r2 = c.get("/api/v1/track/EE123456785VN", headers={"X-Forwarded-For": "9.9.9.2"},
               environ_base=hdr)
    r3 = c.get("/api/v1/track/EE123456785VN", headers={"X-Forwarded-For": "9.9.9.1"},
               environ_base=hdr)
    assert (r1.status_code, r2.status_code, r3.status_code) == (404, 404, 429)


def test_counters_are_shared_through_redis_between_workers(app, clock, create_app):
    """Two app instances (two gunicorn workers) share one Redis counter."""
    redis = pytest.importorskip("redis")
    url = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/15")
    try:
        redis.Redis.from_url(url).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip(f"no Redis at {url} (.ci/run starts one)")
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    conf = {"TESTING": True, "SQLALCHEMY_DATABASE_URI": uri, "CLOCK": clock, "SECRET_KEY": "t",
            "RATELIMIT_STORAGE_URI": url, "TRACKING_RATE_LIMIT": "2 per minute"}
    # a client address no other run uses (the Redis database outlives the test)
    u = uuid.uuid4().bytes
    env = {"REMOTE_ADDR": f"10.{u[0]}.{u[1]}.{u[2]}"}

    def track(app):
        return app.test_client().get("/api/v1/track/EE123456785VN", environ_base=env)

    first = create_app(conf)
    assert track(first).status_code == 404
    assert track(first).status_code == 404
    # another worker (a new app, a new storage connection) sees the same counter
    assert track(create_app(conf)).status_code == 429
    # while in-memory counters are per worker: the same with memory:// starts afresh
    conf.update(RATELIMIT_STORAGE_URI="memory://")
    track(create_app(conf))
    track(create_app(conf))
    assert track(create_app(conf)).status_code == 404


def test_a_counter_store_that_is_down_does_not_stop_work(app, clock, create_app, auth, office,
                                                         courier, make_item, full_proof):
    """Redis down: logins, tracking and deliveries go on (unlimited), no 500."""
    conf = {"TESTING": True, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "CLOCK": clock, "SECRET_KEY": "t", "PROOF_FAILURE_LIMIT": "1 per hour",
            "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:1/0"}  # nothing listens there
    item = coded_item(make_item, office, courier)
    down = create_app(conf)
    c = down.test_client()
    assert c.get(f"/api/v1/track/{item.identifier}").status_code == 200
    assert login(c, "anh", "wrong").status_code == 401
    assert login(c, "anh", "right-pw").status_code == 201
    h = auth(courier)
    wrong = f"{(int(item.delivery_code) + 1) % 10**6:06d}"
    for _ in range(2):  # over the limit of 1, but nothing counts while the store is down
        assert deliver(c, h, item, full_proof(item, delivery_code=wrong)).status_code == 422
    assert deliver(c, h, item, full_proof(item)).status_code == 201
