"""Delivery rounds ("tuyến phát"): CRUD and its rules, ward matching, an item's round,
and route plans that keep a round's stops with its courier."""

from __future__ import annotations

import pytest

from api import jobs
from models import DeliveryRound, Role, RoundWard, RoutePlan, db, ward_key
from tests.api.test_route_plans import plan_body, wait_for


@pytest.fixture
def office(make_office):
    return make_office(lat=12.2450, lon=109.1940)


@pytest.fixture
def couriers(make_user, office):
    return [make_user(Role.COURIER, office, vehicle_capacity_parcels=30,
                      vehicle_capacity_kg=50.0) for _ in range(2)]


def new_round(client, h, **kw):
    body = {"code": "T01", "name": "Tuyến Lộc Thọ", "wards": ["Lộc Thọ"]}
    body.update(kw)
    return client.post("/api/v1/rounds", json=body, headers=h)


# ------------------------------------------------------------------ ward names

@pytest.mark.parametrize("written", [
    "Lộc Thọ", "Phường Lộc Thọ", "phường lộc thọ", "P. Lộc Thọ", "P.Lộc Thọ",
    "  LỘC   THỌ ", "Loc Tho", "Lộc Thọ",  # the last one decomposed (NFD), as macOS types
])
def test_ward_names_match_whatever_the_prefix_case_and_accents(written):
    assert ward_key(written) == ward_key("Lộc Thọ") == "loc tho"


def test_ward_prefixes_are_dropped_only_as_prefixes():
    assert ward_key("Xã Vĩnh Lương") == ward_key("Vĩnh Lương") == "vinh luong"
    assert ward_key("Thị trấn Diên Khánh") == ward_key("TT. Diên Khánh") == "dien khanh"
    # a ward whose own name starts as a prefix does without accents keeps it
    assert ward_key("Phường Xa La") == ward_key("Xa La") == "xa la"
    assert ward_key("Phương Sài") == "phuong sai" != ward_key("Sài")
    assert ward_key("Đồng Đế") == "dong de"
    assert ward_key("Phường") == ward_key("  ") == ward_key(None) == ""


@pytest.mark.parametrize("written", ["Phường 1", "P.1", "P. 01", "P1", "p01", "F1",
                                     "phuong 1", "Phuong 01", "1", "01"])
def test_numbered_wards_match_however_the_number_is_written(written):
    assert ward_key(written) == "1"
    assert ward_key("Phường 11") == ward_key("F11") == "11" != ward_key("Phường 1")


def test_legacy_and_pasted_characters_match():
    assert ward_key("\u00d0\u1ed3ng \u0110\u1ebf") == "dong de"  # Ð (legacy) for Đ
    assert ward_key("L\u1ed9c\u200b Th\u1ecd") == "loc tho"  # a zero-width space


# ------------------------------------------------------------------ CRUD

def test_create_read_update_delete(client, auth, dispatcher, couriers, office):
    h = auth(dispatcher)
    r = new_round(client, h, wards=["Phường Lộc Thọ", "Tân Lập"], courier_id=couriers[0].id)
    assert r.status_code == 201, r.json
    rid = r.json["id"]
    assert r.json["office_id"] == office.id and r.json["code"] == "T01"
    assert r.json["wards"] == ["Phường Lộc Thọ", "Tân Lập"]
    assert r.json["courier"]["id"] == couriers[0].id
    new_round(client, h, code="T02", name="Tuyến Vạn Thạnh", wards=["Vạn Thạnh"])

    listed = client.get("/api/v1/rounds", headers=h)
    assert listed.status_code == 200
    assert [x["code"] for x in listed.json] == ["T01", "T02"]
    assert listed.json[1]["courier"] is None

    r = client.patch(f"/api/v1/rounds/{rid}", json={"wards": ["Tân Lập", "Phước Hải"],
                                                    "courier_id": None}, headers=h)
    assert r.status_code == 200, r.json
    assert r.json["wards"] == ["Tân Lập", "Phước Hải"] and r.json["courier"] is None
    assert r.json["name"] == "Tuyến Lộc Thọ"  # not sent: unchanged
    # Lộc Thọ left T01: another round may take it now
    assert new_round(client, h, code="T03", wards=["Lộc Thọ"]).status_code == 201
    assert client.get(f"/api/v1/rounds/{rid}", headers=h).json["wards"] == ["Tân Lập",
                                                                             "Phước Hải"]

    assert client.delete(f"/api/v1/rounds/{rid}", headers=h).status_code == 204
    assert client.get(f"/api/v1/rounds/{rid}", headers=h).status_code == 404
    assert db.session.query(RoundWard).filter_by(round_id=rid).count() == 0
    assert new_round(client, h, code="T01", wards=["Tân Lập"]).status_code == 201


def test_a_ward_belongs_to_one_round_of_an_office(client, auth, dispatcher, office,
                                                  make_office, make_user):
    h = auth(dispatcher)
    first = new_round(client, h, wards=["Lộc Thọ"]).json
    r = new_round(client, h, code="T02", wards=["Tân Lập", "P. Lộc Thọ"])
    assert r.status_code == 409 and r.json["type"] == "/problems/ward-in-another-round"
    assert r.json["errors"] == [{"pointer": "/wards/1",
                                 "detail": f"Lộc Thọ is in round T01 (id {first['id']})."}]
    second = new_round(client, h, code="T02", wards=["Tân Lập"]).json
    r = client.patch(f"/api/v1/rounds/{second['id']}", json={"wards": ["phường lộc thọ"]},
                     headers=h)
    assert r.status_code == 409
    assert client.get(f"/api/v1/rounds/{second['id']}", headers=h).json["wards"] == ["Tân Lập"]
    # the same code twice in the office is a 409 too; another office may have both
    r = new_round(client, h, wards=["Vạn Thạnh"])
    assert r.status_code == 409 and r.json["type"] == "/problems/duplicate-round"
    r = client.patch(f"/api/v1/rounds/{second['id']}", json={"code": "T01"}, headers=h)
    assert r.status_code == 409
    other = make_office()
    h2 = auth(make_user(Role.DISPATCHER, other))
    assert new_round(client, h2, wards=["Lộc Thọ"]).status_code == 201
    assert db.session.query(DeliveryRound).count() == 3


def test_requests_racing_past_the_checks_meet_the_unique_keys_as_a_409(
        client, auth, dispatcher, office, monkeypatch):
    """Two requests that both passed the checks before either wrote: the second meets
    the unique keys, and is answered as the checks would have (a PATCH's clash used to
    break its whole transaction: a 500)."""
    from api.rounds import service

    h = auth(dispatcher)
    first = new_round(client, h, code="T01", wards=["Lộc Thọ"]).json
    mine = new_round(client, h, code="T02", wards=["Tân Lập"]).json
    check = service._check_free
    seen: list[int] = []

    def late(*a, **kw):  # the first check of each request saw nothing yet
        seen.append(1)
        return None if len(seen) == 1 else check(*a, **kw)

    monkeypatch.setattr(service, "_check_free", late)
    cases = [("post", "/api/v1/rounds", {"code": "T03", "name": "X", "wards": ["Lộc Thọ"]},
              "ward-in-another-round"),
             ("post", "/api/v1/rounds", {"code": "T01", "name": "X", "wards": ["Vạn Thạnh"]},
              "duplicate-round"),
             ("patch", f"/api/v1/rounds/{mine['id']}", {"wards": ["Tân Lập", "P. Lộc Thọ"]},
              "ward-in-another-round"),
             ("patch", f"/api/v1/rounds/{mine['id']}", {"code": "T01", "name": "Y"},
              "duplicate-round")]
    for method, url, body, slug in cases:
        seen.clear()
        r = getattr(client, method)(url, json=body, headers=h)
        assert r.status_code == 409 and r.json["type"] == f"/problems/{slug}", (body, r.json)
        assert len(seen) == 2  # (the race did happen)
        if slug == "ward-in-another-round":  # named where the request has it
            n = len(body["wards"]) - 1
            assert r.json["errors"] == [{"pointer": f"/wards/{n}", "detail":
                                         f"Lộc Thọ is in round T01 (id {first['id']})."}]
    # nothing changed
    got = client.get(f"/api/v1/rounds/{mine['id']}", headers=h).json
    assert (got["code"], got["name"], got["wards"]) == ("T02", "Tuyến Lộc Thọ", ["Tân Lập"])
    assert db.session.query(DeliveryRound).count() == 2


def test_a_ward_whose_key_outgrows_the_column_is_a_422(client, auth, dispatcher, office):
    """Lower case may lengthen a name ("ß" is "ss"): a key longer than the column is
    refused on its index (PostgreSQL refused to store it: a 500)."""
    h = auth(dispatcher)
    r = new_round(client, h, wards=["Lộc Thọ", "ß" * 100])
    assert r.status_code == 422 and [e["pointer"] for e in r.json["errors"]] == ["/wards/1"]
    assert db.session.query(DeliveryRound).count() == 0
    assert new_round(client, h, wards=["ß" * 50]).status_code == 201  # 100 once matched


@pytest.mark.parametrize(("body", "pointer"), [
    ({"code": ""}, "/code"),
    ({"code": "T 01"}, "/code"),
    ({"code": "T" * 21}, "/code"),
    ({"name": ""}, "/name"),
    ({"name": None}, "/name"),
    ({"wards": "Lộc Thọ"}, "/wards"),
    ({"wards": ["Lộc Thọ", "Phường Lộc Thọ"]}, "/wards/1"),
    ({"wards": ["Phường"]}, "/wards/0"),
    ({"wards": ["x" * 101]}, "/wards/0"),
    ({"wards": [7]}, "/wards/0"),
    ({"courier_id": "abc"}, "/courier_id"),
    ({"courier_id": 0}, "/courier_id"),
    ({"office_id": 1, "unknown": 1}, "/unknown"),
])
def test_invalid_fields_are_422_each_named(client, auth, dispatcher, office, body, pointer):
    r = new_round(client, auth(dispatcher), **body)
    assert r.status_code == 422, r.json
    assert pointer in [e["pointer"] for e in r.json["errors"]], r.json
    assert db.session.query(DeliveryRound).count() == 0


def test_the_courier_must_be_an_active_courier_of_the_office(
        client, auth, dispatcher, office, couriers, make_office, make_user):
    h = auth(dispatcher)
    elsewhere = make_user(Role.COURIER, make_office())
    gone = make_user(Role.COURIER, office, active=False)
    for who in (elsewhere.id, gone.id, dispatcher.id, 999_999):
        r = new_round(client, h, courier_id=who)
        assert r.status_code == 422 and r.json["errors"][0]["pointer"] == "/courier_id"
    rid = new_round(client, h, courier_id=couriers[0].id).json["id"]
    r = client.patch(f"/api/v1/rounds/{rid}", json={"courier_id": elsewhere.id}, headers=h)
    assert r.status_code == 422
    assert client.get(f"/api/v1/rounds/{rid}", headers=h).json["courier"]["id"] == couriers[0].id


def test_scope(client, auth, dispatcher, courier, office, make_office, make_user):
    other = make_office()
    h_other = auth(make_user(Role.DISPATCHER, other))
    h_admin = auth(make_user(Role.ADMIN))
    rid = new_round(client, auth(dispatcher)).json["id"]
    # a dispatcher of another office neither sees nor changes it (404), nor creates in
    # this office (403); a courier sees no round (403)
    assert client.get(f"/api/v1/rounds/{rid}", headers=h_other).status_code == 404
    assert client.patch(f"/api/v1/rounds/{rid}", json={"name": "X"},
                        headers=h_other).status_code == 404
    assert client.delete(f"/api/v1/rounds/{rid}", headers=h_other).status_code == 404
    assert client.get("/api/v1/rounds", headers=h_other).json == []
    assert client.get(f"/api/v1/rounds?office_id={office.id}",
                      headers=h_other).status_code == 404
    assert new_round(client, h_other, office_id=office.id, code="T09").status_code == 403
    assert client.get("/api/v1/rounds", headers=auth(courier)).status_code == 403
    assert client.get(f"/api/v1/rounds/{rid}", headers=auth(courier)).status_code == 403
    # an admin names the office
    r = client.get("/api/v1/rounds", headers=h_admin)
    assert r.status_code == 422 and r.json["errors"][0]["parameter"] == "office_id"
    assert [x["id"] for x in client.get(f"/api/v1/rounds?office_id={office.id}",
                                        headers=h_admin).json] == [rid]
    assert new_round(client, h_admin, code="T02", wards=["Tân Lập"]).status_code == 422
    assert new_round(client, h_admin, office_id=office.id, code="T02",
                     wards=["Tân Lập"]).status_code == 201
    assert client.patch(f"/api/v1/rounds/{rid}", json={"name": "Tuyến 1"},
                        headers=h_admin).json["name"] == "Tuyến 1"


# ------------------------------------------------------------------ an item's round

def test_item_detail_shows_its_round_to_staff(client, auth, dispatcher, courier, office,
                                              make_item, make_office, make_user):
    h = auth(dispatcher)
    rnd = new_round(client, h, wards=["P. Lộc Thọ"]).json
    rcpt = {"name": "A", "address": "1 Yersin", "ward": "Phường  lộc thọ", "city": "Nha Trang",
            "province": "Khánh Hòa", "lat": 12.238, "lon": 109.196}
    item = make_item(office, courier=courier, recipient=rcpt)
    none = make_item(office, recipient={**rcpt, "ward": "Tân Lập"})
    # a round of another office covering the same ward is not this item's
    other = make_office()
    new_round(client, auth(make_user(Role.DISPATCHER, other)), code="T05")

    r = client.get(f"/api/v1/items/{item.identifier}", headers=h)
    assert r.json["round"] == {"id": rnd["id"], "code": "T01", "name": "Tuyến Lộc Thọ"}
    assert client.get(f"/api/v1/items/{none.identifier}", headers=h).json["round"] is None
    assert client.get(f"/api/v1/items/{item.identifier}",
                      headers=auth(courier)).json["round"] is None  # staff only


# ------------------------------------------------------------------ route plans

def _cluster_items(make_item, office):
    """Three parcels in each of two wards, 1 km north and 1 km east of the office: one
    courier doing both (office, north, east, office) rides about 600 m less than two."""
    out = {}
    for ward, (lat, lon) in (("Vĩnh Phước", (12.2540, 109.1940)),
                             ("Vĩnh Thọ", (12.2450, 109.2032))):
        out[ward] = [make_item(office, events=("EMG",), recipient={
            "name": "B", "address": f"{n} Phạm Văn Đồng", "ward": f"Phường {ward}",
            "city": "Nha Trang", "province": "Khánh Hòa",
            "lat": lat + 0.0002 * n, "lon": lon + 0.0002 * n}).identifier for n in range(3)]
    return out


def _routes(done):
    return {r["courier_id"]: {s["identifier"] for s in r["stops"]}
            for r in done["result"]["routes"] if r["stops"]}


def test_a_plan_keeps_a_rounds_items_with_its_courier_when_it_costs_little(
        client, auth, dispatcher, couriers, office, make_item):
    h = auth(dispatcher)
    items = _cluster_items(make_item, office)
    a, b = couriers
    new_round(client, h, code="VP", wards=["Vĩnh Phước"], courier_id=b.id)
    new_round(client, h, code="VT", wards=["Vĩnh Thọ"], courier_id=a.id)

    url = client.post("/api/v1/route-plans", json=plan_body(), headers=h).headers["Location"]
    done = wait_for(client, h, url, {"succeeded", "failed"})
    assert done["status"] == "succeeded", done
    assert _routes(done) == {b.id: set(items["Vĩnh Phước"]), a.id: set(items["Vĩnh Thọ"])}
    assert done["result"]["rounds"] == {"round_cost_m": 2000, "stops": 6,
                                        "on_round_courier": 6, "another_courier": 0,
                                        "unassigned": 0}

    # 0: rounds are ignored, and one courier rides both wards (the shorter day)
    url = client.post("/api/v1/route-plans", json=plan_body(round_cost_m=0),
                      headers=h).headers["Location"]
    done = wait_for(client, h, url, {"succeeded", "failed"})
    assert len(_routes(done)) == 1
    assert done["result"]["rounds"] == {"round_cost_m": 0, "stops": 0, "on_round_courier": 0,
                                        "another_courier": 0, "unassigned": 0}


def test_only_stops_no_other_rule_gives_a_courier_prefer_the_rounds(
        client, auth, dispatcher, couriers, office, make_item, make_user, monkeypatch):
    monkeypatch.setattr(jobs, "submit", lambda *a, **k: "not-run")
    h = auth(dispatcher)
    a, b = couriers
    c = make_user(Role.COURIER, office)
    items = _cluster_items(make_item, office)
    by_hand = make_item(office, courier=a, events=("EMG",), recipient={
        "name": "B", "address": "9 Phạm Văn Đồng", "ward": "Vĩnh Phước", "city": "Nha Trang",
        "province": "Khánh Hòa", "lat": 12.2545, "lon": 109.1945}).identifier
    new_round(client, h, code="VP", wards=["Vĩnh Phước"], courier_id=b.id)
    new_round(client, h, code="VT", wards=["Vĩnh Thọ"], courier_id=c.id)  # not in the plan

    r = client.post("/api/v1/route-plans", json=plan_body(courier_ids=[a.id, b.id]),
                    headers=h)
    assert r.status_code == 202, r.json
    problem = db.session.get(RoutePlan, r.json["id"]).problem
    stops = {s["id"]: s for s in problem["stops"]}
    for ident in items["Vĩnh Phước"]:
        assert stops[ident]["preferred_courier"] == str(b.id)
        assert stops[ident]["move_cost_m"] == 2000 and not stops[ident].get("committed")
    for ident in items["Vĩnh Thọ"]:  # its round's courier is not in the plan
        assert stops[ident].get("preferred_courier") is None
    # given by hand to A: pinned to A, whatever its round
    assert stops[by_hand]["courier_id"] == str(a.id)
    assert stops[by_hand].get("preferred_courier") is None
    assert problem["round_stops"] == {i: str(b.id) for i in items["Vĩnh Phước"]}

    r = client.post("/api/v1/route-plans", json=plan_body(round_cost_m=5000), headers=h)
    stops = db.session.get(RoutePlan, r.json["id"]).problem["stops"]
    assert {s["move_cost_m"] for s in stops if s.get("preferred_courier")} == {5000}


@pytest.mark.parametrize("cost", [-1, 50_001, 1.5, "far", None, True])
def test_round_cost_is_validated(client, auth, dispatcher, couriers, office, make_item, cost):
    _cluster_items(make_item, office)
    r = client.post("/api/v1/route-plans", json=plan_body(round_cost_m=cost),
                    headers=auth(dispatcher))
    assert r.status_code == 422
    assert [e["pointer"] for e in r.json["errors"]] == ["/round_cost_m"]


# ------------------------------------------------------------------ console

def test_the_console_lists_the_offices_rounds(client, auth, office, couriers, make_user,
                                              make_office):
    from tests.api.test_console import csrf, login

    disp = make_user(Role.DISPATCHER, office, username="disp", password="secret-pw")
    h = auth(disp)
    new_round(client, h, code="T02", name="Tuyến Tân Lập", wards=["Tân Lập", "Phước Tân"],
              courier_id=couriers[0].id)
    new_round(client, h)
    elsewhere = new_round(client, auth(make_user(Role.DISPATCHER, make_office())),
                          code="X9").json
    assert login(client).status_code == 302
    page = client.get("/console/rounds").text
    assert "Tuyến phát của bưu cục" in page  # Vietnamese by default
    assert page.index('id="round-') < page.index("T01") < page.index("T02")
    assert "Tân Lập, Phước Tân" in page and couriers[0].username in page
    assert "Chưa có" in page  # T01 has no courier
    assert f'id="round-{elsewhere["id"]}"' not in page
    client.post("/console/lang", data={"lang": "en", "next": "/console/rounds",
                                       "csrf_token": csrf(client, "/console/rounds")})
    page = client.get("/console/rounds").text
    assert "office&#39;s delivery rounds" in page and "None yet" in page
