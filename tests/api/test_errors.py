"""Every error is problem details matching the documented schema; nothing leaks."""

from __future__ import annotations

import jsonschema
import pytest
from openapi_spec_validator import validate as validate_openapi

from models import Role


@pytest.fixture
def spec(client):
    return client.get("/api/v1/openapi.json").json


def check_problem(resp, spec, status):
    assert resp.status_code == status
    assert resp.content_type == "application/problem+json"
    schema = {"$ref": "#/components/schemas/Problem", "components": spec["components"]}
    jsonschema.Draft202012Validator(schema).validate(resp.json)
    assert resp.json["status"] == status
    return resp.json


def test_openapi_document_is_valid_and_documents_problems(spec):
    validate_openapi(spec)
    assert spec["openapi"].startswith("3.")
    assert "Problem" in spec["components"]["schemas"]
    create = spec["paths"]["/api/v1/items"]["post"]
    assert "422" in create["responses"]
    assert "application/problem+json" in str(spec["components"]["responses"])
    assert spec["paths"]["/api/v1/track/{number}"]["get"]["security"] == []
    assert spec["security"] == [{"bearerAuth": []}]


def test_docs_page_is_served_without_internet(client):
    page = client.get("/api/v1/docs").get_data(as_text=True)
    assert "/api/v1/docs/assets/swagger-ui-bundle.js" in page
    assert "//cdn" not in page and "unpkg" not in page
    r = client.get("/api/v1/docs/assets/swagger-ui-bundle.js")
    assert r.status_code == 200 and len(r.get_data()) > 100_000
    r.close()


def test_unknown_url_and_wrong_method(client, spec):
    check_problem(client.get("/api/v1/nothing-here"), spec, 404)
    r = client.put("/api/v1/items")
    body = check_problem(r, spec, 405)
    assert "GET" in r.headers["Allow"] and "POST" in r.headers["Allow"]
    assert body["type"] == "about:blank"


def test_unauthenticated_is_401_with_challenge(client, spec):
    r = client.get("/api/v1/items")
    check_problem(r, spec, 401)
    assert r.headers["WWW-Authenticate"].startswith("Bearer")


def test_validation_errors_have_pointers(client, spec, make_user, make_office, auth):
    h = auth(make_user(Role.DISPATCHER, make_office()))
    body = check_problem(client.post("/api/v1/items", json={"identifier": 5}, headers=h),
                         spec, 422)
    assert {"pointer": "/identifier", "detail": "Not a valid string."} in body["errors"]


@pytest.mark.parametrize(("data", "ctype"), [
    ("{not json", "application/json"),
    ("[1, 2]", "application/json"),
    ("\"text\"", "application/json"),
    ("null", "application/json"),
    ("a=1", "application/x-www-form-urlencoded"),
    ("\xff\xfe", "application/json"),
])
def test_malformed_bodies_are_4xx(client, spec, make_user, make_office, auth, data, ctype):
    h = auth(make_user(Role.DISPATCHER, make_office()))
    r = client.post("/api/v1/items", data=data, content_type=ctype, headers=h)
    assert 400 <= r.status_code < 500
    check_problem(r, spec, r.status_code)


@pytest.mark.parametrize("path", ["/api/v1/items", "/api/v1/route-plans", "/api/v1/scans"])
@pytest.mark.parametrize(("data", "reason"), [
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ('{"a":' * 5_000 + "1" + "}" * 5_000, "nested too deeply"),
    ('{"date": "2026-11-20", "identifiers": ["\\ud800"]}', "/identifiers/0 is not valid Unicode"),
    ('{"x": {"\\udfff": 1}}', "key at /x is not valid Unicode"),
    ('{"date": "2026-11-20", "identifiers": ["EE1\\u00002"]}', "/identifiers/0 holds a NUL"),
    ('{"x": {"a\\u0000": 1}}', "key at /x holds a NUL"),
    ('{"date": "2026-11-20", "time_limit_s": ' + "1" * 4_301 + "}",
     "limit (4300 digits) for integer string conversion"),
    ('{"x": {' + ",".join(f'"k{i}": 1' for i in range(100_001)) + "}}",
     "more than 100000 values"),
    ('{"date": "2026-11-20", "identifiers": [' + "[1]," * 50_001 + "1]}",
     "more than 100000 values"),
    # Python kept the last: a plan for the 21st; another parser keeps the first
    ('{"date": "2026-11-20", "date": "2026-11-21"}', "the key 'date' appears twice"),
    ('{"x": [{"a": 1, "b": 2, "a": 3}]}', "the key 'a' appears twice"),
], ids=["deep-list", "deep-object", "lone-surrogate", "surrogate-key", "nul", "nul-key",
        "huge-integer", "many-keys", "many-items", "key-twice", "nested-key-twice"])
def test_json_that_python_parses_but_cannot_use_is_400(client, spec, make_user, make_office,
                                                        auth, path, data, reason):
    # webargs (items, route plans) and request.get_json (scans) both answer 400
    h = auth(make_user(Role.DISPATCHER, make_office()))
    r = client.post(path, data=data, content_type="application/json", headers=h)
    body = check_problem(r, spec, 400)
    if path != "/api/v1/scans":  # the scan endpoint says only that it wants JSON
        assert reason in body["detail"]


def test_a_login_of_800_000_keys_is_refused_at_once(client):
    """The login takes anyone's body: 12 MB of a million keys took a web thread 17-26 s
    and ~550 MB, and answered every key's error (50 MB). Refused as it is parsed."""
    from api import jsonbody

    calls = []
    walk = jsonbody._too_many_values
    jsonbody._too_many_values = lambda doc: calls.append(1) or walk(doc)
    try:
        body = "{" + ",".join(f"\"k{i}\":1" for i in range(800_000)) + "}"  # 9.5 MB
        r = client.post("/api/v1/auth/token", data=body, content_type="application/json")
    finally:
        jsonbody._too_many_values = walk
    assert r.status_code == 400 and "more than 100000 values" in r.json["detail"]
    assert len(r.data) < 2000 and calls == [1]


def test_a_large_document_under_the_value_limit_is_read_without_a_walk():
    """The walk counting values runs only when the text has as many separators."""
    from api import jsonbody

    doc = {"names": ["x" * 200] * 1_000, "text": "a" * 200_000}
    text = __import__("json").dumps(doc)
    walk = jsonbody._too_many_values
    jsonbody._too_many_values = lambda doc: pytest.fail("walked")
    try:
        assert jsonbody.loads(text) == doc
    finally:
        jsonbody._too_many_values = walk
    assert jsonbody.loads("[" + "1," * 99_999 + "1]") == [1] * 100_000



def test_too_many_values_are_refused_before_looking_for_keys_twice(monkeypatch):
    """Looking for a key twice is a Python call for each object: 12 MB of ``{},``
    (4 million objects, anyone's login body) took twice as long to refuse as counting
    them alone. A document with too many values is refused before."""
    from api import jsonbody

    real = jsonbody._unique_keys
    calls = []
    monkeypatch.setattr(jsonbody, "_unique_keys",
                        lambda pairs: calls.append(1) or real(pairs))
    with pytest.raises(ValueError, match="more than 100000 values"):
        jsonbody.loads("[" + "{}," * 100_000 + "{}]")
    assert calls == []
    # a document under the limit is still checked for a key twice
    with pytest.raises(ValueError, match="the key 'a' appears twice"):
        jsonbody.loads("[" + "{}," * 99_990 + '{"a": 1, "a": 2}]')
    assert len(calls) == 99_991

def test_valid_unicode_is_kept():
    from api.jsonbody import loads
    doc = loads(b'{"name": "Nguy\\u1ec5n \\ud83d\\udce6", "k": ["\\u00e9"]}')
    assert doc == {"name": "Nguyễn 📦", "k": ["é"]}  # a surrogate *pair* is one character


def test_chunked_body_over_the_limit_is_413_not_cut(client, spec, app, make_user,
                                                     make_office, auth):
    import io
    import json

    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    h = auth(make_user(Role.DISPATCHER, make_office()))
    item = {"identifier": "ZZCHUNK-1", "sender": {"name": "a"},
            "recipient": {"name": "b", "address": "c", "city": "d", "province": "e"}}
    body = json.dumps(item).encode()

    def chunked(data):  # as a server hands over a chunked body: no length, terminated
        return client.post("/api/v1/items", input_stream=io.BytesIO(data),
                           headers={**h, "Transfer-Encoding": "chunked"},
                           content_type="application/json",
                           environ_overrides={"wsgi.input_terminated": True})

    # the item followed by spaces past the limit: cut at the limit it would parse
    r = chunked(body + b" " * (1024 * 1024))
    check_problem(r, spec, 413)
    assert client.get("/api/v1/items/ZZCHUNK-1", headers=h).status_code == 404
    assert chunked(body).status_code == 201  # a chunked body under the limit is fine


def test_body_too_large_is_413(client, spec, app):
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    r = client.post("/api/v1/auth/token", data=b"x" * (1024 * 1024 + 1),
                    content_type="application/json")
    body = check_problem(r, spec, 413)
    assert "1 MB" in body["detail"]


def test_a_form_field_too_large_says_so_not_that_the_body_is(client, spec, app, make_user,
                                                              make_office, auth):
    # a 3 MB note in a multipart scan was answered "larger than the limit of 12 MB"
    app.config["MAX_FORM_MEMORY_SIZE"] = 20_000  # (500 KB by default)
    h = auth(make_user(Role.COURIER, make_office()))
    r = client.post("/api/v1/scans", headers=h, content_type="multipart/form-data",
                    data={"note": "x" * 30_000, "action": "EDG"})
    body = check_problem(r, spec, 413)
    assert "form field" in body["detail"] and "20 KB" in body["detail"]


def test_500_says_nothing_about_internals(app, caplog):
    @app.get("/boom")
    def boom():
        raise RuntimeError("secret database password is hunter2")

    client = app.test_client()
    spec = client.get("/api/v1/openapi.json").json
    r = client.get("/boom")
    body = check_problem(r, spec, 500)
    assert "hunter2" not in r.get_data(as_text=True)
    assert "RuntimeError" not in r.get_data(as_text=True)
    assert body["title"] == "Internal server error"
    assert "hunter2" in caplog.text  # logged for the operators
    # a browser on a page gets the plain HTML error page, saying as little
    r = client.get("/boom", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert r.status_code == 500 and r.mimetype == "text/html"
    assert "hunter2" not in r.get_data(as_text=True) and "<h1>500" in r.get_data(as_text=True)
    assert r.headers["X-Content-Type-Options"] == "nosniff"


def test_problem_type_links_resolve(client):
    r = client.get("/problems/illegal-transition")
    assert r.status_code == 200 and "allowed_events" in r.json["description"]
    assert client.get("/problems/nope").status_code == 404


def raised_slugs():
    """Every problem type slug the code under api/ can answer with, read from the source
    (so a new one cannot ship undescribed): ``slug="..."`` given to a call, a class's
    ``slug`` (the default of ``Problem`` and its subclasses) and a string given where a
    function takes its ``slug`` positionally (``_library(422, "unreadable-image", ...)``),
    each with where it was found."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "api"
    trees = {path: ast.parse(path.read_text(encoding="utf-8"), str(path))
             for path in sorted(root.rglob("*.py"))}
    # functions whose positional parameter ``slug`` a caller may give as a literal
    positional = {node.name: [a.arg for a in node.args.posonlyargs + node.args.args].index(
                      "slug")
                  for tree in trees.values() for node in ast.walk(tree)
                  if isinstance(node, ast.FunctionDef)
                  and "slug" in [a.arg for a in node.args.posonlyargs + node.args.args]}

    def text(node):
        return node.value if isinstance(node, ast.Constant) and isinstance(
            node.value, str) else None

    found = {}
    for path, tree in trees.items():
        for node in ast.walk(tree):
            values = []
            if isinstance(node, ast.Call):
                values += [text(k.value) for k in node.keywords if k.arg == "slug"]
                name = getattr(node.func, "id", getattr(node.func, "attr", None))
                if name in positional and len(node.args) > positional[name]:
                    values.append(text(node.args[positional[name]]))
            elif isinstance(node, ast.Assign):  # slug = "x"; status, slug, title = ...
                for target in node.targets:
                    if isinstance(target, ast.Name) and target.id == "slug":
                        values.append(text(node.value))
                    elif (isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple)
                          and len(target.elts) == len(node.value.elts)):
                        values += [text(v) for t, v in zip(target.elts, node.value.elts)
                                   if isinstance(t, ast.Name) and t.id == "slug"]
            for v in values:
                if v is not None:
                    found.setdefault(v, f"{path.relative_to(root.parent)}:{node.lineno}")
    return found


def test_every_problem_type_the_code_raises_is_described(client):
    # a type URL that 404s is no description at all: route plans, the console's CSRF
    # check and the job queue raised types the catalogue did not have
    from api.apidocs import PROBLEM_TYPES

    found = raised_slugs()
    # the scan sees each way a type is given (a keyword, a class default, positionally)
    assert {"plan-not-ready", "not-found", "too-many-attempts", "unreadable-image",
            "csrf-failed"} <= set(found), sorted(found)
    missing = {slug: where for slug, where in found.items() if slug not in PROBLEM_TYPES}
    assert missing == {}, "problem types without a description (api/apidocs.py)"
    for slug in found:
        r = client.get(f"/problems/{slug}")
        assert r.status_code == 200 and r.json["type"] == f"/problems/{slug}", slug
        assert r.json["description"].strip(), slug


def test_healthz(client):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json == {"status": "ok", "database": "ok"}


def test_healthz_says_when_the_job_queue_cannot_run_plans(app, client):
    """With ``REDIS_URL`` set, route plans wait on Redis for an RQ worker: /healthz
    said "ok" with Redis down or no worker running, and plans queued for ever. It
    says so now (200 still: scans and deliveries go on without the queue)."""
    import os
    import socket
    import uuid

    from redis import Redis
    from rq import Queue, Worker

    from api import jobs

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app.config["REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json == {"status": "degraded", "database": "ok", "queue": "unreachable",
                      "workers": None}
    url = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/15")
    conn = Redis.from_url(url)
    try:
        conn.ping()
    except Exception:  # noqa: BLE001
        pytest.skip(f"no Redis at {url} (.ci/run starts one)")
    app.config["REDIS_URL"] = url
    name, saved = f"{jobs.QUEUE}-{uuid.uuid4().hex[:6]}", jobs.QUEUE
    jobs.QUEUE = name
    try:
        r = client.get("/healthz")
        assert r.json == {"status": "degraded", "database": "ok", "queue": "no-workers",
                          "workers": 0}
        worker = Worker([Queue(name, connection=conn)], connection=conn)
        worker.register_birth()
        try:
            r = client.get("/healthz")
            assert r.status_code == 200
            assert r.json == {"status": "ok", "database": "ok", "queue": "ok", "workers": 1}
            # killed without a word: its key expires (no beat), its name stays in the
            # queue's set of workers (only a live worker cleans that up)
            conn.delete(worker.key)
            r = client.get("/healthz")
            assert r.json == {"status": "degraded", "database": "ok", "queue": "no-workers",
                              "workers": 0}
        finally:
            worker.register_death()
    finally:
        jobs.QUEUE = saved


HUGE = 10**25  # larger than any database integer: must never reach the database


@pytest.mark.parametrize(("method", "url"), [
    ("get", f"/api/v1/route-plans/{HUGE}/geojson"),
    ("post", f"/api/v1/users/{HUGE}/revoke-tokens"),
    ("patch", f"/api/v1/complaints/{HUGE}"),
    ("get", f"/api/v1/scans/{HUGE}"),
    ("post", f"/api/v1/payouts/{HUGE}/fail"),
    ("get", f"/api/v1/couriers/{HUGE}/cash?date=2026-11-20"),
])
def test_huge_ids_in_the_path_are_404(client, auth, make_user, method, url):
    r = getattr(client, method)(url, headers=auth(make_user(Role.ADMIN)), json={})
    assert r.status_code == 404, r.get_json()


@pytest.mark.parametrize("zero", [0x0660, 0xFF10, 0x1D7CE])  # Arabic-Indic, fullwidth, bold
def test_ids_in_the_path_are_ascii_digits(client, auth, make_user, make_office, zero):
    # \d and int() take any script's digits: /couriers/٢/cash was courier 2's ledger
    courier = make_user(Role.COURIER, make_office())
    h = auth(make_user(Role.ADMIN))
    url = "/api/v1/couriers/{}/cash?date=2026-11-20"
    assert client.get(url.format(courier.id), headers=h).status_code == 200
    other = "".join(chr(zero + int(d)) for d in str(courier.id))
    r = client.get(url.format(other), headers=h)
    assert r.status_code == 404 and r.mimetype == "application/problem+json", r.get_json()


@pytest.mark.parametrize(("url", "body"), [
    ("/api/v1/cash/handovers", {"courier_id": HUGE, "date": "2026-11-20", "counted_amount": 1}),
    ("/api/v1/cash/corrections", {"entry_id": HUGE, "amount": 1, "reason": "abc"}),
    ("/api/v1/route-plans", {"date": "2026-11-20", "office_id": HUGE}),
    ("/api/v1/route-plans", {"date": "2026-11-20", "courier_ids": [HUGE]}),
    ("/api/v1/payouts", {"program": "pension", "period": "2026-11", "amount": 1,
                         "due_date": "2026-11-20", "office_id": HUGE,
                         "beneficiary": {"name": "a", "address": "b",
                                         "id_number": "056012345678"}}),
    ("/api/v1/items?courier_id=" + str(HUGE), None),
    ("/api/v1/quality?date=2026-11-20&office_id=" + str(HUGE), None),
])
def test_huge_ids_in_requests_are_422(client, auth, make_user, url, body):
    h = auth(make_user(Role.ADMIN))
    r = client.post(url, json=body, headers=h) if body is not None else client.get(url,
                                                                                  headers=h)
    assert r.status_code == 422, r.get_json()


@pytest.mark.parametrize(("method", "url", "kw"), [
    ("post", "/api/v1/auth/token", {"json": {"username": "dis\x00patcher", "password": "pw"}}),
    ("post", "/console/login", {"data": {"username": "dis\x00patcher", "password": "pw"}}),
    ("get", "/api/v1/evidence/%00", {}),
    ("get", "/api/v1/items/EE123456785VN%00", {}),
    ("get", "/api/v1/track/EE12345%006785VN", {}),
    ("get", "/track/EE12345%006785VN", {}),
    ("post", "/api/v1/track/EE12345%006785VN/complaints", {"json": {}}),
    ("get", "/api/v1/items?status=%00", {}),
    ("get", "/api/v1/items?q=%00", {}),
    ("post", "/api/v1/items", {"json": {"number": "EE12345\x006785VN"}}),
    ("post", "/api/v1/scans", {"json": {"codes": ["EE12345\x006785VN"]}}),
])
def test_nul_characters_are_refused_before_they_reach_the_database(
        client, auth, make_user, make_office, method, url, kw):
    # PostgreSQL cannot store or compare text holding NUL: the driver raises, a 500;
    # wherever a client can put one (path, query, form, JSON) it is a 4xx
    h = auth(make_user(Role.DISPATCHER, make_office()))
    r = getattr(client, method)(url, headers=h, **kw)
    assert 400 <= r.status_code < 500, (r.status_code, r.get_data(as_text=True)[:300])


@pytest.mark.parametrize("ctype", ["text/plain;charset=UTF-8", None,
                                   "application/x-www-form-urlencoded"])
def test_a_json_body_of_another_type_is_415_not_no_body(client, spec, make_user,
                                                        make_office, make_item, auth, ctype):
    """``fetch(url, {method: "PATCH", body: JSON.stringify(...)})`` sends ``text/plain``:
    the body was read as no body at all, and the PATCH answered 200 having changed
    nothing."""
    from models import Complaint, db

    office = make_office()
    h = auth(make_user(Role.DISPATCHER, office))
    item = make_item(office=office)
    r = client.post("/api/v1/complaints", json={"identifier": item.identifier,
                                                "category": "late", "description": "Late again"},
                    headers=h)
    assert r.status_code == 201, r.json
    cid = r.json["id"]
    headers = dict(h, **({"Content-Type": ctype} if ctype else {}))
    r = client.patch(f"/api/v1/complaints/{cid}", data='{"status": "investigating"}',
                     headers=headers)
    body = check_problem(r, spec, 415)
    assert body["type"] == "/problems/unsupported-media-type"
    assert db.session.get(Complaint, cid).status.value == "open"
    # a JSON type with a charset, or a +json type, is JSON; no body is still no body
    r = client.patch(f"/api/v1/complaints/{cid}", data='{"status": "investigating"}',
                     headers=dict(h, **{"Content-Type": "application/json; charset=utf-8"}))
    assert r.status_code == 200 and r.json["status"] == "investigating"
    r = client.patch(f"/api/v1/complaints/{cid}", headers=dict(h, **{"Content-Type":
                                                                        "text/plain"}))
    assert r.status_code == 200


def test_documented_patterns_are_json_schema_patterns(spec):
    """JSON Schema patterns are ECMA-262 and unanchored: Python's ``\\Z`` (a literal
    ``Z`` there, or a syntax error with the ``u`` flag ajv uses) documented a SHA-256
    followed by a ``Z``, and an unanchored pattern let through what the server refuses."""
    patterns = []

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("pattern"), str):
                patterns.append(node["pattern"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(spec)
    assert patterns
    for p in patterns:
        assert "\\Z" not in p and p.startswith("^"), p
    event = {"$ref": "#/components/schemas/EventPost", "components": spec["components"]}
    ok = {"code": "EMI", "client_event_id": "0b6f-4c1e-9a1d",
          "device_time": "2026-11-20T09:00:00+07:00", "photo": "a" * 64}
    assert not list(jsonschema.Draft202012Validator(event).iter_errors(ok))
    for field, bad in (("client_event_id", "!!0b6f-4c1e-9a1d"), ("photo", "a" * 64 + "z"),
                       ("photo", "x" + "a" * 64)):
        errors = list(jsonschema.Draft202012Validator(event).iter_errors({**ok, field: bad}))
        assert [e.path[-1] for e in errors] == [field], (field, bad)


def test_every_documented_field_has_a_type(spec, client, make_user, make_office, make_item,
                                           auth):
    """Fields computed by a method (``fields.Method``) were documented as anything at
    all: an app generated from the document had no type for an item's recipient, its
    delivery window, an event's location or proof, a plan's stop count."""
    untyped = [(name, prop) for name, schema in spec["components"]["schemas"].items()
               for prop, value in (schema.get("properties") or {}).items()
               if not {"type", "$ref", "anyOf", "oneOf", "allOf", "enum"} & set(value)]
    assert untyped == []
    office = make_office()
    h = auth(make_user(Role.DISPATCHER, office))
    item = make_item(office=office, events=("EMG",))
    body = client.get(f"/api/v1/items/{item.identifier}", headers=h).json
    schema = {"$ref": "#/components/schemas/ItemDetail", "components": spec["components"]}
    jsonschema.Draft202012Validator(schema).validate(body)
    assert isinstance(body["recipient"], dict)
