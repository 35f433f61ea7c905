from __future__ import annotations

from models import Role


def login(client, username, password="pw"):
    return client.post("/api/v1/auth/token", json={"username": username, "password": password})


def test_login_returns_a_token_that_works(client, make_user, make_office):
    user = make_user(Role.DISPATCHER, make_office())
    r = login(client, user.username)
    assert r.status_code == 201
    token = r.json["access_token"]
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json["username"] == user.username and me.json["role"] == "dispatcher"


def test_wrong_password_and_unknown_user_look_the_same(client, make_user):
    user = make_user(Role.ADMIN)
    a = login(client, user.username, "wrong")
    b = login(client, "nobody", "wrong")
    assert a.status_code == b.status_code == 401
    assert a.json["detail"] == b.json["detail"]
    assert a.content_type == "application/problem+json"
    assert "WWW-Authenticate" in a.headers


def test_a_name_typed_with_capitals_or_spaces_logs_in(client, make_user, make_office):
    """A phone's keyboard capitalises the first letter and may add a space: ``Courier1 ``
    was a wrong username for ``courier1``. Letters' case (ASCII) and surrounding spaces
    no longer matter, unless two accounts differ only in case: then only the exact
    name logs in (neither is guessed)."""
    from models import User, db

    office = make_office()
    courier = make_user(Role.COURIER, office, username="courier7")
    for typed in ("Courier7", "COURIER7 ", " courier7"):
        r = login(client, typed)
        assert r.status_code == 201, typed
        me = client.get("/api/v1/auth/me",
                        headers={"Authorization": f"Bearer {r.json['access_token']}"})
        assert me.json["id"] == courier.id
    assert login(client, "Courier7", "wrong").status_code == 401
    # two accounts from before names were kept apart by case
    ann = make_user(Role.COURIER, office, username="ann")
    db.session.add(User(username="Ann", role=Role.COURIER, full_name="Ann",
                        office_id=office.id, password_hash=ann.password_hash))
    db.session.commit()
    assert login(client, "ann").status_code == login(client, "Ann").status_code == 201
    assert login(client, "ANN").status_code == 401


def test_an_unknown_name_costs_the_statements_a_known_one_does(client, make_user,
                                                               make_office, count_queries):
    """A login looked the exact name up, then, not found, every account by case (a
    second statement, scanning the table): an unknown name cost one statement more than
    a known one, a difference an attacker can time to tell which names exist."""
    make_user(Role.COURIER, make_office(), username="courier8")
    counts = {}
    for typed in ("courier8", "Courier8", "nobody99"):
        with count_queries() as n:
            assert login(client, typed, "wrong").status_code == 401
        counts[typed] = n()
    assert len(set(counts.values())) == 1, counts


def test_inactive_user_cannot_log_in(client, make_user):
    user = make_user(Role.ADMIN, active=False)
    assert login(client, user.username).status_code == 401


def test_token_expires(client, make_user, clock):
    user = make_user(Role.ADMIN)
    token = login(client, user.username).json["access_token"]
    h = {"Authorization": f"Bearer {token}"}
    clock.advance(hours=11, minutes=59)
    assert client.get("/api/v1/auth/me", headers=h).status_code == 200
    clock.advance(minutes=2)
    r = client.get("/api/v1/auth/me", headers=h)
    assert r.status_code == 401
    assert 'error="invalid_token"' in r.headers["WWW-Authenticate"]


def test_logout_revokes_the_token(client, make_user):
    user = make_user(Role.ADMIN)
    h = {"Authorization": f"Bearer {login(client, user.username).json['access_token']}"}
    assert client.delete("/api/v1/auth/token", headers=h).status_code == 204
    assert client.get("/api/v1/auth/me", headers=h).status_code == 401


def test_lost_phone_is_cut_off_at_once(client, make_user, make_office, auth):
    office = make_office()
    courier = make_user(Role.COURIER, office)
    dispatcher = make_user(Role.DISPATCHER, office)
    phone = {"Authorization": f"Bearer {login(client, courier.username).json['access_token']}"}
    tablet = {"Authorization": f"Bearer {login(client, courier.username).json['access_token']}"}
    r = client.post(f"/api/v1/users/{courier.id}/revoke-tokens", headers=auth(dispatcher))
    assert r.status_code == 200 and r.json["revoked"] == 2
    assert client.get("/api/v1/auth/me", headers=phone).status_code == 401
    assert client.get("/api/v1/auth/me", headers=tablet).status_code == 401
    # a new login works again
    assert login(client, courier.username).status_code == 201


def test_dispatcher_cannot_revoke_other_offices_or_dispatchers(client, make_user, make_office,
                                                               auth):
    office, other = make_office(), make_office()
    dispatcher = make_user(Role.DISPATCHER, office)
    assert client.post(f"/api/v1/users/{make_user(Role.COURIER, other).id}/revoke-tokens",
                       headers=auth(dispatcher)).status_code == 404
    assert client.post(f"/api/v1/users/{make_user(Role.DISPATCHER, office).id}/revoke-tokens",
                       headers=auth(dispatcher)).status_code == 403


def test_garbage_tokens_are_401(client):
    for header in ["Bearer", "Bearer    ", "Basic abc", "Bearer nope", "bearer " + "x" * 5000]:
        r = client.get("/api/v1/auth/me", headers={"Authorization": header})
        assert r.status_code == 401, header


def test_a_device_label_with_control_characters_is_refused(client, make_user, make_office):
    # stored as sent, a NUL byte is a 500 on PostgreSQL (text cannot hold it)
    from models import ApiToken, db

    user = make_user(Role.COURIER, make_office())
    for device in ("Galaxy\x00A52", "Galaxy\nA52", "\x1b[31m"):
        r = client.post("/api/v1/auth/token", json={"username": user.username, "password": "pw",
                                                    "device": device})
        if "\x00" in device:  # no JSON string may hold NUL (api.jsonbody)
            assert r.status_code == 400 and "/device holds a NUL" in r.json["detail"]
        else:
            assert r.status_code == 422 and r.json["errors"][0]["pointer"] == "/device", device
    assert db.session.query(ApiToken).count() == 0
    r = client.post("/api/v1/auth/token", json={"username": user.username, "password": "pw",
                                                "device": " Galaxy A52 "})
    assert r.status_code == 201
    assert db.session.query(ApiToken).one().device == "Galaxy A52"
