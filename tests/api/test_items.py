from __future__ import annotations

import pytest

from models import Item, Role, db
from tests.conftest import at_once, item_payload, s10, when_both_arrive


def test_create_derives_product_from_s10_and_records_acceptance(client, auth, dispatcher):
    payload = item_payload(identifier="ee 876 543 216 ca", cod_amount=250_000)
    r = client.post("/api/v1/items", json=payload, headers=auth(dispatcher))
    assert r.status_code == 201, r.json
    body = r.json
    assert body["identifier"] == "EE876543216CA"
    assert body["product"] == "ems" and body["identifier_kind"] == "s10"
    assert body["status"] == "accepted" and body["cod_amount"] == 250_000
    assert [e["code"] for e in body["events"]] == [] or True  # creation response has no list
    detail = client.get("/api/v1/items/EE876543216CA", headers=auth(dispatcher)).json
    assert [e["code"] for e in detail["events"]] == ["EMA"]
    assert detail["office_id"] == dispatcher.office_id


def test_wrong_check_digit_is_422_saying_so(client, auth, dispatcher):
    r = client.post("/api/v1/items", json=item_payload(identifier="EE123456789VN"),
                    headers=auth(dispatcher))
    assert r.status_code == 422
    assert r.content_type == "application/problem+json"
    [err] = [e for e in r.json["errors"] if e["pointer"] == "/identifier"]
    assert "check digit" in err["detail"] and "expected 5" in err["detail"]
    assert db.session.query(Item).count() == 0


@pytest.mark.parametrize("ident", ["JA123456785VN", "EE12345678VN", "E" * 41, "ab", "a b c d",
                                   "EE123456785V1", "\u0000ABCDEF"])
def test_bad_identifiers_are_refused(client, auth, dispatcher, ident):
    r = client.post("/api/v1/items", json=item_payload(identifier=ident), headers=auth(dispatcher))
    if "\x00" in ident:  # no JSON string may hold NUL (api.jsonbody): refused as it is read
        assert r.status_code == 400 and "/identifier holds a NUL" in r.json["detail"]
    else:
        assert r.status_code == 422
        assert any(e["pointer"] == "/identifier" for e in r.json["errors"])


@pytest.mark.parametrize("ident", ["EE-12345678-VN", "ee-1234567890-vn", "EE 12345678 VN"])
def test_a_mistyped_s10_with_separators_is_no_carrier_code(client, auth, dispatcher, ident):
    # spaces and hyphens are dropped from an S10 number (docs/domain.md): written with
    # them, a number with a digit too few or too many was stored as another carrier's
    # code ("EE-12345678-VN", kind external), where without them it is refused
    r = client.post("/api/v1/items", json=item_payload(identifier=ident), headers=auth(dispatcher))
    assert r.status_code == 422, r.json
    [err] = [e for e in r.json["errors"] if e["pointer"] == "/identifier"]
    assert "Invalid S10 identifier" in err["detail"]
    assert db.session.query(Item).count() == 0


def test_external_codes_are_accepted_and_carrier_detected(client, auth, dispatcher):
    r = client.post("/api/v1/items", json=item_payload(identifier="gabc12345x"),
                    headers=auth(dispatcher))
    assert r.status_code == 201, r.json
    assert r.json["identifier"] == "GABC12345X"
    assert r.json["identifier_kind"] == "external" and r.json["carrier"] == "GHN"
    assert r.json["product"] == "parcel"


def test_product_contradicting_the_s10_number_is_refused(client, auth, dispatcher):
    r = client.post("/api/v1/items", json=item_payload(identifier=s10("EE"), product="parcel"),
                    headers=auth(dispatcher))
    assert r.status_code == 422
    assert r.json["errors"][0]["pointer"] == "/product"


def test_admin_documents_always_require_an_id_check(client, auth, dispatcher):
    r = client.post("/api/v1/items", json=item_payload(identifier=s10("BA"),
                                                       product="admin_document"),
                    headers=auth(dispatcher))
    assert r.status_code == 201 and r.json["id_check_required"] is True


def test_duplicate_identifier_is_409(client, auth, dispatcher):
    payload = item_payload()
    assert client.post("/api/v1/items", json=payload, headers=auth(dispatcher)).status_code == 201
    r = client.post("/api/v1/items", json=payload, headers=auth(dispatcher))
    assert r.status_code == 409 and r.json["type"] == "/problems/duplicate-item"


@pytest.mark.parametrize(("override", "pointer"), [
    ({"cod_amount": 50_000_001}, "/cod_amount"),
    ({"cod_amount": -1}, "/cod_amount"),
    ({"cod_amount": 1.5}, "/cod_amount"),
    ({"weight_g": "heavy"}, "/weight_g"),
    ({"delivery_window": {"start": "2026-11-20T10:00:00+07:00",
                          "end": "2026-11-20T08:00:00+07:00"}}, "/delivery_window/end"),
    ({"delivery_window": {"start": "2026-11-20T10:00:00", "end": "2026-11-20T12:00:00"}},
     "/delivery_window/start"),
    ({"recipient": {"name": "A", "address": "x", "city": "c", "province": "p", "lat": 91,
                    "lon": 10}}, "/recipient/lat"),
    ({"recipient": {"name": "A", "address": "x", "city": "c", "province": "p", "lat": 12}},
     "/recipient/lat"),
    ({"recipient": {"name": "", "address": "x", "city": "c", "province": "p"}},
     "/recipient/name"),
    ({"sender": {"name": "S", "phone": "call me"}}, "/sender/phone"),
    ({"sender": "nope"}, "/sender"),
    ({"unexpected": 1}, "/unexpected"),
])
def test_invalid_fields_point_at_the_field(client, auth, dispatcher, override, pointer):
    r = client.post("/api/v1/items", json=item_payload(**override), headers=auth(dispatcher))
    assert r.status_code == 422, r.json
    assert pointer in [e["pointer"] for e in r.json["errors"]], r.json


@pytest.mark.parametrize("field", ["id_check_required", "signature_required"])
@pytest.mark.parametrize("value", ["yes", "true", "True", "1", 1, "on", "no", "false", 0,
                                   "0", "off", "", None, [], {}], ids=repr)
def test_flags_are_json_booleans_only(client, auth, dispatcher, field, value):
    """The flags took marshmallow's words too: a phone or a page sending ``"yes"``,
    ``"1"`` or 1 had its bug go unnoticed (and ``"no"``, 0 or "false" were no as well).
    A JSON body says true or false; anything else is a 422 on the field, nothing
    stored."""
    r = client.post("/api/v1/items", json=item_payload(identifier=s10("CP"), **{field: value}),
                    headers=auth(dispatcher))
    assert r.status_code == 422 and r.mimetype == "application/problem+json", r.json
    assert [e["pointer"] for e in r.json["errors"]] == [f"/{field}"]
    assert db.session.query(Item).count() == 0


@pytest.mark.parametrize("field", ["id_check_required", "signature_required"])
def test_flags_true_and_false_are_kept(client, auth, dispatcher, field):
    h = auth(dispatcher)
    for value in (True, False):
        ident = s10("CP")
        r = client.post("/api/v1/items", json=item_payload(identifier=ident, **{field: value}),
                        headers=h)
        assert r.status_code == 201 and r.json[field] is value, r.json
        assert getattr(db.session.query(Item).filter_by(identifier=ident).one(), field) is value


def test_dispatcher_cannot_create_for_another_office(client, auth, dispatcher, make_office):
    other = make_office()
    r = client.post("/api/v1/items", json=item_payload(office_id=other.id),
                    headers=auth(dispatcher))
    assert r.status_code == 403


def test_admin_must_name_an_existing_office(client, auth, make_user):
    admin = make_user(Role.ADMIN)
    r = client.post("/api/v1/items", json=item_payload(), headers=auth(admin))
    assert r.status_code == 422 and r.json["errors"][0]["pointer"] == "/office_id"
    r = client.post("/api/v1/items", json=item_payload(office_id=999), headers=auth(admin))
    assert r.status_code == 422


def test_list_filters_and_pagination(client, auth, office, dispatcher, make_item, make_user,
                                     clock):
    courier = make_user(Role.COURIER, office)
    for _ in range(3):
        make_item(office)
    clock.advance(days=1)
    at_office = [make_item(office, events=("EMG",)) for _ in range(4)]
    mine = make_item(office, courier=courier, events=("EMG", "EDG"))
    h = auth(dispatcher)

    r = client.get("/api/v1/items?page_size=3", headers=h)
    assert r.json["total"] == 8 and len(r.json["items"]) == 3
    page3 = client.get("/api/v1/items?page_size=3&page=3", headers=h).json
    assert len(page3["items"]) == 2
    seen = {i["identifier"] for p in (1, 2, 3)
            for i in client.get(f"/api/v1/items?page_size=3&page={p}", headers=h).json["items"]}
    assert len(seen) == 8

    r = client.get("/api/v1/items?status=at_delivery_office", headers=h)
    assert {i["identifier"] for i in r.json["items"]} == {i.identifier for i in at_office}
    r = client.get("/api/v1/items?status=at_delivery_office&status=out_for_delivery", headers=h)
    assert r.json["total"] == 5
    r = client.get(f"/api/v1/items?courier_id={courier.id}", headers=h)
    assert [i["identifier"] for i in r.json["items"]] == [mine.identifier]
    r = client.get("/api/v1/items?created_from=2026-11-21", headers=h)
    assert r.json["total"] == 5
    r = client.get("/api/v1/items?created_to=2026-11-20", headers=h)
    assert r.json["total"] == 3


@pytest.mark.parametrize("query", ["status=lost", "page=0", "page_size=1000", "courier_id=x",
                                   "created_from=yesterday", "created_to=9999-12-31",
                                   "created_from=0001-01-01", "page=1.5", "courier_id=3.9"])
def test_bad_list_filters_are_422(client, auth, dispatcher, query):
    r = client.get(f"/api/v1/items?{query}", headers=auth(dispatcher))
    assert r.status_code == 422
    assert r.json["errors"][0]["parameter"]


def test_list_query_count_does_not_grow_with_items(client, auth, office, dispatcher, make_item,
                                                   make_user, count_queries):
    courier = make_user(Role.COURIER, office)
    h = auth(dispatcher)
    make_item(office, courier=courier)
    with count_queries() as n_small:
        client.get("/api/v1/items", headers=h)
    for _ in range(15):
        make_item(office, courier=courier)
    with count_queries() as n_big:
        client.get("/api/v1/items", headers=h)
    assert n_big() == n_small() <= 4


def test_detail_query_count_does_not_grow_with_events(client, auth, office, dispatcher,
                                                      make_item, make_user, count_queries):
    courier = make_user(Role.COURIER, office)
    short = make_item(office)
    long = make_item(office, courier=courier, events=("EDD", "EDE", "EMG", "EDG", "EMH", "EDG",
                                                      "EMH", "EDG", "EMI"))
    h = auth(dispatcher)
    with count_queries() as n_short:
        client.get(f"/api/v1/items/{short.identifier}", headers=h)
    with count_queries() as n_long:
        r = client.get(f"/api/v1/items/{long.identifier}", headers=h)
    assert len(r.json["events"]) == 10
    assert n_long() == n_short()


def test_assign_checks_the_courier(client, auth, office, dispatcher, make_item, make_user,
                                   make_office):
    item = make_item(office)
    h = auth(dispatcher)
    other_office_courier = make_user(Role.COURIER, make_office())
    r = client.post(f"/api/v1/items/{item.identifier}/assign",
                    json={"courier_id": other_office_courier.id}, headers=h)
    assert r.status_code == 422
    r = client.post(f"/api/v1/items/{item.identifier}/assign", json={"courier_id": dispatcher.id},
                    headers=h)
    assert r.status_code == 422
    courier = make_user(Role.COURIER, office)
    r = client.post(f"/api/v1/items/{item.identifier}/assign", json={"courier_id": courier.id},
                    headers=h)
    assert r.status_code == 200 and r.json["courier"]["id"] == courier.id
    r = client.post(f"/api/v1/items/{item.identifier}/assign", json={"courier_id": None},
                    headers=h)
    assert r.status_code == 200 and r.json["courier"] is None


def test_lookup_is_case_and_space_insensitive(client, auth, office, dispatcher, make_item):
    item = make_item(office)
    spaced = f"{item.identifier[:2].lower()} {item.identifier[2:]}"
    r = client.get(f"/api/v1/items/{spaced}", headers=auth(dispatcher))
    assert r.status_code == 200 and r.json["identifier"] == item.identifier


@pytest.mark.parametrize("name", ["\u202enhoJ", "An\u2066h", "Lan\u2028Hoa", "Hoa\x7f",
                                  "Ho\x85a", "\x9bHoa"])
def test_bidi_overrides_and_other_invisible_controls_are_refused_in_names(
        client, auth, dispatcher, name):
    """A right-to-left override shows a name reversed wherever it is displayed; C1
    controls and DEL are control characters as much as C0's."""
    payload = item_payload()
    payload["recipient"]["name"] = name
    r = client.post("/api/v1/items", json=payload, headers=auth(dispatcher))
    assert r.status_code == 422, r.json
    assert r.json["errors"][0]["pointer"] == "/recipient/name"
    assert db.session.query(Item).count() == 0
    payload["recipient"]["name"] = "Nguyễn Văn Ân"  # letters of any script stay welcome
    assert client.post("/api/v1/items", json=payload,
                       headers=auth(dispatcher)).status_code == 201


def test_only_ascii_letters_are_upper_cased_in_a_look_up(client, auth, dispatcher):
    from scanning.s10 import s10_check_digit

    serial = "12345678"
    ident = f"SS{serial}{s10_check_digit(serial)}VN"
    assert client.post("/api/v1/items", json=item_payload(identifier=ident),
                       headers=auth(dispatcher)).status_code == 201
    h = auth(dispatcher)
    assert client.get(f"/api/v1/items/ss{ident[2:]}", headers=h).status_code == 200
    # str.upper() made 'ß' 'SS' (and 'ﬅ' 'ST'): another string found this item
    r = client.get(f"/api/v1/items/ß{ident[2:]}", headers=h)
    assert r.status_code == 404, r.json
    r = client.post("/api/v1/items", json=item_payload(identifier=f"ß{ident[2:]}"), headers=h)
    assert r.status_code == 422, r.json


@pytest.mark.parametrize("window", [
    {"start": "0001-01-01T01:00:00+05:00", "end": "0001-01-01T02:00:00+05:00"},
    {"start": "9999-12-31T18:00:00+00:00", "end": "9999-12-31T23:00:00+00:00"}])
def test_delivery_windows_outside_2000_2099_are_422(client, auth, dispatcher, window):
    r = client.post("/api/v1/items", json=item_payload(delivery_window=window),
                    headers=auth(dispatcher))
    assert r.status_code == 422
    assert r.json["errors"][0]["pointer"].startswith("/delivery_window/")


def test_the_same_item_created_twice_at_once_is_one_item(app, auth, dispatcher, monkeypatch):
    from api.items import service

    # id_hash runs after the duplicate check, before the insert
    monkeypatch.setattr(service.policy, "id_hash", when_both_arrive(service.policy.id_hash))
    payload = item_payload()
    payload["recipient"]["id_number"] = "079123456789"
    h = auth(dispatcher)
    answers = at_once(app, *(lambda c: c.post("/api/v1/items", json=payload, headers=h)
                             for _ in range(2)))
    assert sorted(a.status_code for a in answers) == [201, 409]
    assert {a.json.get("type") for a in answers if a.status_code == 409} == {
        "/problems/duplicate-item"}
    db.session.expire_all()
    assert db.session.query(Item).filter_by(identifier=payload["identifier"]).count() == 1


def test_the_largest_declared_value_allowed_is_stored(client, auth, dispatcher):
    # 10^11 VND is within the schema's limit but over a 32-bit integer (PostgreSQL's
    # INTEGER): it was a 500 there
    r = client.post("/api/v1/items", json=item_payload(declared_value=10**11),
                    headers=auth(dispatcher))
    assert r.status_code == 201, r.json
    assert r.json["declared_value"] == 10**11
    detail = client.get(f"/api/v1/items/{r.json['identifier']}", headers=auth(dispatcher))
    assert detail.json["declared_value"] == 10**11


def test_a_client_event_id_never_blocks_creating_items(client, auth, office, dispatcher,
                                                       make_item):
    # the acceptance event's key was "srv-ema-<item id>", which a client may send too:
    # the next item's creation then failed as a duplicate (on SQLite, which gives the
    # rolled-back id again, every creation after it)
    item = make_item(office)
    h = auth(dispatcher)
    r = client.post(f"/api/v1/items/{item.identifier}/events", headers=h, json={
        "code": "EMG", "client_event_id": f"srv-ema-{item.id + 1}",
        "device_time": "2026-11-20T08:00:00+07:00"})
    assert r.status_code == 201, r.json
    for _ in range(3):
        r = client.post("/api/v1/items", json=item_payload(), headers=h)
        assert r.status_code == 201, r.json
