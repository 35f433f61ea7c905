from __future__ import annotations

import csv
import io

import pytest

from models import Item, Role, db
from tests.conftest import s10

HEADER = ["identifier", "sender_name", "recipient_name", "recipient_phone", "recipient_address",
          "recipient_ward", "recipient_city", "recipient_province", "recipient_lat",
          "recipient_lon", "weight_g", "cod_amount", "window_start", "window_end"]


def to_csv(rows, header=HEADER):
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode("utf-8")


def row(ident=None, **kw):
    base = {"identifier": ident or s10("CP"), "sender_name": "Shop", "recipient_name": "Lê Thị Mai",
            "recipient_phone": "0987654321", "recipient_address": "5 Yersin",
            "recipient_ward": "Phương Sài", "recipient_city": "Nha Trang",
            "recipient_province": "Khánh Hòa", "recipient_lat": "12.253",
            "recipient_lon": "109.18", "weight_g": "800", "cod_amount": "120000",
            "window_start": "", "window_end": ""}
    base.update(kw)
    return [base[h] for h in HEADER]


@pytest.fixture
def dispatcher(make_user, make_office):
    return make_user(Role.DISPATCHER, make_office())


def test_valid_rows_are_kept_and_bad_rows_reported(client, auth, dispatcher):
    good = [row(), row(window_start="2026-11-21T08:00:00+07:00",
                      window_end="2026-11-21T10:00:00+07:00")]
    dup = good[0][0]
    rows = [good[0], row("EE123456789VN"), good[1], row(cod_amount="12.5"), row(dup),
            row(recipient_lat="95")]
    r = client.post("/api/v1/items/import", data=to_csv(rows), content_type="text/csv",
                    headers=auth(dispatcher))
    assert r.status_code == 200, r.json
    assert r.json["created"] == 2 and r.json["failed"] == 4
    by_row = {e["row"]: e for e in r.json["errors"]}
    assert set(by_row) == {2, 4, 5, 6}
    assert by_row[2]["errors"][0]["column"] == "identifier"
    assert "check digit" in by_row[2]["errors"][0]["detail"]
    assert by_row[4]["errors"][0]["column"] == "cod_amount"
    assert "already exists" in by_row[5]["errors"][0]["detail"]
    assert by_row[6]["errors"][0]["column"] == "recipient_lat"
    assert db.session.query(Item).count() == 2
    item = db.session.query(Item).filter_by(identifier=good[1][0]).one()
    assert item.window_start is not None and item.cod_amount == 120000


def test_multipart_upload_with_bom(client, auth, dispatcher):
    data = b"\xef\xbb\xbf" + to_csv([row()])
    r = client.post("/api/v1/items/import", data={"file": (io.BytesIO(data), "items.csv")},
                    headers=auth(dispatcher), content_type="multipart/form-data")
    assert r.status_code == 200 and r.json["created"] == 1


@pytest.mark.parametrize(("body", "slug"), [
    (b"", "csv-missing"),
    (b"\xff\xfe\x00bad", "csv-encoding"),
    (b"foo,bar\n1,2\n", "csv-header"),
    (to_csv([], HEADER + ["surprise"]), "csv-header"),
])
def test_unusable_files_are_422(client, auth, dispatcher, body, slug):
    r = client.post("/api/v1/items/import", data=body, content_type="text/csv",
                    headers=auth(dispatcher))
    assert r.status_code == 422 and r.json["type"] == f"/problems/{slug}"


def test_row_limit(client, auth, dispatcher, app):
    app.config["IMPORT_MAX_ROWS"] = 3
    r = client.post("/api/v1/items/import", data=to_csv([row() for _ in range(4)]),
                    content_type="text/csv", headers=auth(dispatcher))
    assert r.status_code == 422 and r.json["type"] == "/problems/csv-too-many-rows"
    assert db.session.query(Item).count() == 0  # the rows before the limit are not kept


def test_a_file_that_is_not_csv_after_good_rows_stores_nothing(client, auth, dispatcher):
    body = to_csv([row(), row()]) + b'"' + b"x" * 140_000 + b'"\n'  # a field over the limit
    r = client.post("/api/v1/items/import", data=body, content_type="text/csv",
                    headers=auth(dispatcher))
    assert r.status_code == 422 and r.json["type"] == "/problems/csv-malformed"
    assert db.session.query(Item).count() == 0


def test_ragged_rows_are_reported_not_crashing(client, auth, dispatcher):
    body = to_csv([row()]) + b"X,Y,Z,1,2,3,4,5,6,7,8,9,10,11,12,13,14\n"
    r = client.post("/api/v1/items/import", data=body, content_type="text/csv",
                    headers=auth(dispatcher))
    assert r.status_code == 200 and r.json["created"] == 1 and r.json["failed"] == 1


def test_a_quote_left_open_refuses_the_file_not_the_rows_after_it(client, auth, dispatcher):
    good = [row() for _ in range(3)]
    opened = to_csv([good[0]]) + b'CP000000001VN,"Shop,Nguyen B,5 Yersin\n' + to_csv(
        good[1:])[len(",".join(HEADER)) + 2:]
    r = client.post("/api/v1/items/import", data=opened, content_type="text/csv",
                    headers=auth(dispatcher))
    assert r.status_code == 422 and r.json["type"] == "/problems/csv-malformed", r.json
    assert db.session.query(Item).count() == 0


def test_a_repeated_column_is_refused(client, auth, dispatcher):
    body = to_csv([row() + [s10("CP")]], header=HEADER + ["identifier"])
    r = client.post("/api/v1/items/import", data=body, content_type="text/csv",
                    headers=auth(dispatcher))
    assert r.status_code == 422 and r.json["type"] == "/problems/csv-header"
    assert "identifier" in r.json["detail"]
    assert db.session.query(Item).count() == 0


def test_an_import_while_others_write_keeps_every_row(app, auth, dispatcher, make_user):
    import threading

    from models import Office
    from tests.conftest import at_once, item_payload

    mine = auth(dispatcher)
    theirs = auth(make_user(Role.DISPATCHER, db.session.get(Office, dispatcher.office_id)))
    office_id = dispatcher.office_id
    rows = [row() for _ in range(300)]
    done = threading.Event()

    def importing(cl):
        try:
            return cl.post("/api/v1/items/import", data=to_csv(rows), content_type="text/csv",
                           headers=mine)
        finally:
            done.set()

    def writing(cl):  # another dispatcher creates items meanwhile, one by one
        answers = []
        while not done.is_set() and len(answers) < 200:
            answers.append(cl.post("/api/v1/items", headers=theirs,
                                   json=item_payload(office_id=office_id)).status_code)
        return answers

    imported, written = at_once(app, importing, writing)
    assert imported.status_code == 200, imported.json
    assert imported.json["created"] == 300 and set(written) == {201}
    assert db.session.query(Item).count() == 300 + len(written)
