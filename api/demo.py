"""Demo data: one post office in Nha Trang, a dispatcher, ten couriers and about 300
items spread over the lifecycle. Built through the same services as the API, so demo
items obey every rule real ones do."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import EventCode, FailureAction, FailureReason, Office, Product, Role, User
from scanning.s10 import s10_check_digit

from .items import service as items
from .localtime import LOCAL_TZ

HUB = (12.2450, 109.1940)

# Approximate ward centres of Nha Trang, inland of the beach road; jitter stays in town.
WARDS = [
    ("Lộc Thọ", 12.2380, 109.1920), ("Tân Lập", 12.2440, 109.1880),
    ("Vạn Thạnh", 12.2510, 109.1900), ("Xương Huân", 12.2580, 109.1920),
    ("Phương Sài", 12.2530, 109.1800), ("Phước Hải", 12.2330, 109.1820),
    ("Phước Long", 12.2200, 109.1850), ("Vĩnh Nguyên", 12.2120, 109.1980),
    ("Phước Tân", 12.2420, 109.1830), ("Vĩnh Hải", 12.2830, 109.1930),
    ("Vĩnh Phước", 12.2700, 109.1900), ("Ngọc Hiệp", 12.2600, 109.1700),
    ("Phước Tiến", 12.2480, 109.1880), ("Vĩnh Thọ", 12.2660, 109.1960),
]
STREETS = ["Trần Phú", "Lê Thánh Tôn", "Yersin", "Thống Nhất", "Nguyễn Thị Minh Khai",
           "Hùng Vương", "Lý Tự Trọng", "Quang Trung", "2 Tháng 4", "Phạm Văn Đồng",
           "Lê Hồng Phong", "23 Tháng 10", "Ngô Gia Tự", "Trần Quý Cáp", "Hoàng Văn Thụ"]
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Võ", "Đặng", "Bùi"]
MIDDLE = ["Văn", "Thị", "Minh", "Ngọc", "Đức", "Thanh", "Hữu", "Thu"]
GIVEN = ["An", "Bình", "Châu", "Dũng", "Hà", "Hải", "Hương", "Khánh", "Linh", "Long", "Mai",
         "Nam", "Phúc", "Quang", "Tâm", "Thảo", "Trang", "Tuấn", "Vy", "Yến"]
SENDERS = ["Shop Hoa Biển", "Công ty TNHH Yến Sào Khánh Hòa", "Sở Tư pháp Khánh Hòa",
           "Phòng CSGT Công an tỉnh", "Tiki", "Shopee Mall", "Ngân hàng Vietcombank",
           "Bảo hiểm xã hội tỉnh Khánh Hòa"]

# service indicator, product, share of items
PRODUCTS = [("EE", Product.EMS, 0.25), ("RR", Product.REGISTERED, 0.2),
            ("CP", Product.PARCEL, 0.2), ("HV", Product.ECOMMERCE, 0.2),
            ("BA", Product.ADMIN_DOCUMENT, 0.1), ("LA", Product.EXPRESS_LETTER, 0.05)]

# target status -> events after acceptance (field events by the courier)
PATHS: list[tuple[float, list[EventCode]]] = [
    (0.08, []),
    (0.05, [EventCode.EDD]),
    (0.32, [EventCode.EDD, EventCode.EDE, EventCode.EMG]),
    (0.22, [EventCode.EDD, EventCode.EDE, EventCode.EMG, EventCode.EDG]),
    (0.16, [EventCode.EDD, EventCode.EDE, EventCode.EMG, EventCode.EDG, EventCode.EMI]),
    (0.08, [EventCode.EDD, EventCode.EDE, EventCode.EMG, EventCode.EDG, EventCode.EMH]),
    (0.04, [EventCode.EDD, EventCode.EDE, EventCode.EMG, EventCode.EDG, EventCode.EMH,
            EventCode.EDF]),
    (0.05, [EventCode.EDD, EventCode.EDE, EventCode.EMG, EventCode.EDG, EventCode.EMH,
            EventCode.EDG, EventCode.EMH, EventCode.EDG, EventCode.EMH]),
]
FIELD = {EventCode.EDG, EventCode.EMH, EventCode.EMI}


@dataclass
class DemoSummary:
    office: str
    users: list[str]
    items: int


def _name(rng: random.Random) -> str:
    return f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"


def _phone(rng: random.Random) -> str:
    return "0" + rng.choice(["90", "91", "93", "98", "97", "35", "77"]) + \
        "".join(rng.choice("0123456789") for _ in range(7))


def _scribble(rng: random.Random, size: tuple[int, int] = (240, 90)) -> bytes:
    """A signature-like scribble as PNG."""
    import io

    from PIL import Image, ImageDraw

    im = Image.new("L", size, 255)
    draw = ImageDraw.Draw(im)
    pts = [(10 + i * (size[0] - 20) / 7, rng.uniform(15, size[1] - 15)) for i in range(8)]
    draw.line(pts, fill=20, width=3, joint="curve")
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def _proof(session: Session, courier: User, item: Any, rng: random.Random,
           now: datetime) -> dict[str, Any]:
    """What a courier's phone would have captured at the door."""
    from models import EvidenceKind

    from .proof.views import upload_evidence

    sig, _ = upload_evidence(session, courier, _scribble(rng), EvidenceKind.SIGNATURE,
                             now=now, max_bytes=10**7)
    photo, _ = upload_evidence(session, courier, _scribble(rng, (320, 240)),
                               EvidenceKind.PHOTO, now=now, max_bytes=10**7)
    proof: dict[str, Any] = {"relation": "recipient", "received_by": item.recipient_name,
                             "signature": sig.sha256, "photo": photo.sha256,
                             "id_number": f"0{rng.randint(10**10, 10**11 - 1)}"}
    if item.cod_amount:
        proof["cod_collected"] = item.cod_amount
    if item.delivery_code:
        proof["delivery_code"] = item.delivery_code
    return proof


def load_demo(session: Session, *, now: datetime, n_items: int = 300, seed: int = 42,
              password: str = "demo", max_attempts: int = 3,
              settings: items.EventSettings | None = None) -> DemoSummary:
    """Create the demo office, users and items. Refuses to run twice."""
    if session.execute(select(Office).where(Office.code == "NT650000")).scalar() is not None:
        raise ValueError("Demo data is already loaded.")
    names = ["dispatcher1", "admin"] + [f"courier{i}" for i in range(1, 11)]
    # by case too: an "Admin" made with ``users create`` beside the demo's "admin" made
    # logins ambiguous (they ignore the case of ASCII letters), which it refuses
    taken = sorted(session.execute(
        select(User.username).where(func.lower(User.username).in_(names))).scalars())
    if taken:
        raise ValueError(f"Accounts with the demo usernames exist: {', '.join(taken)}.")
    # a post's own database (`make run`, or `demo load`, with its DATABASE_URL still set
    # in the shell) got the demo accounts beside its own: an "admin" of every office,
    # password "demo"
    if (session.execute(select(func.count()).select_from(Office)).scalar()
            or session.execute(select(func.count()).select_from(User)).scalar()):
        raise ValueError("This database already holds offices or accounts: demo data, "
                         "with its well-known passwords, goes into an empty one only.")
    rng = random.Random(seed)
    office = Office(code="NT650000", name="Bưu cục Nha Trang", address="2 Lê Lợi, Xương Huân",
                    city="Nha Trang", province="Khánh Hòa", lat=HUB[0], lon=HUB[1])
    session.add(office)
    session.flush()
    dispatcher = User(username="dispatcher1", role=Role.DISPATCHER, full_name="Lê Thị Điều Phối",
                      phone="0258382000", office_id=office.id)
    admin = User(username="admin", role=Role.ADMIN, full_name="Quản trị hệ thống")
    couriers = [User(username=f"courier{i}", role=Role.COURIER, full_name=_name(rng),
                     phone=_phone(rng), office_id=office.id, vehicle_capacity_parcels=60,
                     vehicle_capacity_kg=80.0) for i in range(1, 11)]
    for u in [dispatcher, admin, *couriers]:
        u.set_password(password)
        session.add(u)
    session.flush()
    _rounds(session, dispatcher, couriers, now)

    weights = [p[2] for p in PRODUCTS]
    path_weights = [p[0] for p in PATHS]
    serials = rng.sample(range(10_000_000, 99_999_999), n_items)
    today = now.astimezone(LOCAL_TZ).replace(hour=0, minute=0, second=0, microsecond=0)
    for k in range(n_items):
        prefix, product, _ = rng.choices(PRODUCTS, weights)[0]
        serial = f"{serials[k]:08d}"
        ward, wlat, wlon = rng.choice(WARDS)
        created = now - timedelta(hours=rng.uniform(6, 72))
        data: dict[str, Any] = {
            "identifier": f"{prefix}{serial}{s10_check_digit(serial)}VN",
            "product": product,
            "sender": {"name": rng.choice(SENDERS), "phone": _phone(rng),
                       "address": "TP. Hồ Chí Minh"},
            "recipient": {
                "name": _name(rng), "phone": _phone(rng),
                "address": f"{rng.randint(1, 250)} {rng.choice(STREETS)}", "ward": ward,
                "city": "Nha Trang", "province": "Khánh Hòa",
                "lat": round(wlat + rng.uniform(-0.003, 0.003), 6),
                "lon": round(wlon + rng.uniform(-0.003, 0.003), 6)},
            "weight_g": rng.randint(50, 300) if product in (Product.REGISTERED,
                                                             Product.ADMIN_DOCUMENT,
                                                             Product.EXPRESS_LETTER)
            else rng.randint(200, 15_000),
            "cod_amount": rng.randrange(50_000, 5_000_000, 1000)
            if product in (Product.PARCEL, Product.ECOMMERCE) and rng.random() < 0.5 else 0,
            "declared_value": 0,
            "signature_required": product in (Product.REGISTERED, Product.EMS),
        }
        if rng.random() < 0.2:
            start = today + timedelta(hours=rng.choice([8, 10, 13, 15]))
            data["delivery_window"] = {"start": start, "end": start + timedelta(hours=2)}
        item = items.create_item(session, dispatcher, data, now=created, carrier_patterns={})
        path = rng.choices(PATHS, path_weights)[0][1]
        courier = rng.choice(couriers)
        t = created
        step = (now - created) / (len(path) + 1)
        for n, code in enumerate(path):
            t = t + step * rng.uniform(0.6, 1.0)
            if code is EventCode.EDG and item.courier_id is None:
                items.assign(session, dispatcher, item.identifier, courier.id, now=t)
            actor = courier if code in FIELD else dispatcher
            ev: dict[str, Any] = {"code": code, "client_event_id": f"demo-{k:04d}-{n:02d}",
                                  "device_time": t}
            if code in FIELD:
                ev["location"] = {"lat": data["recipient"]["lat"] + rng.uniform(-3e-4, 3e-4),
                                  "lon": data["recipient"]["lon"] + rng.uniform(-3e-4, 3e-4),
                                  "accuracy_m": rng.choice([5.0, 8.0, 12.0, 30.0])}
            if code is EventCode.EMI:
                ev["proof"] = _proof(session, courier, item, rng, t)
            if code is EventCode.EMH:
                ev["reason"] = rng.choice(list(FailureReason))
                ev["photo"] = _proof(session, courier, item, rng, t)["photo"]
                ev["action"] = rng.choice([FailureAction.NOTICE_LEFT,
                                           FailureAction.RETRY_NEXT_ROUND])
                if ev["reason"] is FailureReason.WILL_COLLECT_AT_OFFICE:
                    # no next round for a recipient who will collect it: a notice
                    ev["action"] = FailureAction.NOTICE_LEFT
            items.record_event(session, actor, item.identifier, ev, now=t,
                               max_attempts=max_attempts, **(settings or {}))
    session.flush()
    _field_day(session, rng, office, dispatcher, couriers, now)
    return DemoSummary(office.code, ["admin", "dispatcher1"] + [c.username for c in couriers],
                       n_items)


#: the demo office's delivery rounds: code, name, wards (neighbours), and which of the
#: couriers (courier1 ...) rides it; courier8 to courier10 have none (they fill in)
ROUNDS = [
    ("T01", "Tuyến phía Nam", ["Phường Vĩnh Nguyên", "Phường Phước Long"], 1),
    ("T02", "Tuyến Lộc Thọ", ["Phường Lộc Thọ", "Phường Phước Hải"], 2),
    ("T03", "Tuyến Tân Lập", ["Phường Tân Lập", "Phường Phước Tân"], 3),
    ("T04", "Tuyến Vạn Thạnh", ["Phường Vạn Thạnh", "Phường Phước Tiến"], 4),
    ("T05", "Tuyến phía Tây", ["Phường Phương Sài", "Phường Ngọc Hiệp"], 5),
    ("T06", "Tuyến Xương Huân", ["Phường Xương Huân", "Phường Vĩnh Thọ"], 6),
    ("T07", "Tuyến phía Bắc", ["Phường Vĩnh Phước", "Phường Vĩnh Hải"], 7),
]


def _rounds(session: Session, dispatcher: User, couriers: list[User], now: datetime) -> None:
    """The office's delivery rounds, by ward (items name their ward without "Phường":
    matched all the same)."""
    from .rounds import service as rounds

    for code, name, wards, n in ROUNDS:
        rounds.create(session, dispatcher, {"code": code, "name": name, "wards": wards,
                                            "courier_id": couriers[n - 1].id}, now=now)


def _field_day(session: Session, rng: random.Random, office: Office, dispatcher: User,
               couriers: list[User], now: datetime) -> None:
    """Today's GPS tracks, pension payouts, cash hand-ins and complaints, so every
    screen of the console has something to show."""
    from models import ComplaintCategory, ComplaintStatus, CourierPosition, Item, Status

    from .cash import service as cash
    from .complaints import service as complaints
    from .payouts import service as payouts

    # GPS: a ping every 2 minutes for the last 3 hours, wandering around the city
    for c in couriers:
        lat, lon = HUB
        for k in range(90):
            lat = min(max(lat + rng.uniform(-8e-4, 8e-4), 12.21), 12.29)
            lon = min(max(lon + rng.uniform(-8e-4, 8e-4), 109.17), 109.205)
            t = now - timedelta(minutes=2 * (90 - k))
            session.add(CourierPosition(client_event_id=f"demo-gps-{c.id}-{k}",
                                        courier_id=c.id, device_time=t, server_time=t,
                                        lat=round(lat, 6), lon=round(lon, 6),
                                        accuracy_m=rng.choice([5.0, 8.0, 15.0])))
    # payouts: some waiting, some with a courier, one paid
    today = now.astimezone(LOCAL_TZ).date()
    tasks = []
    for n in range(6):
        ward, wlat, wlon = rng.choice(WARDS)
        tasks.append(payouts.create(session, dispatcher, {
            "program": "pension" if n % 3 else "social_insurance",
            "period": today.strftime("%Y-%m"), "amount": rng.randrange(1_500_000, 6_000_000, 1000),
            "due_date": today,
            "beneficiary": {"name": _name(rng), "phone": _phone(rng),
                            "address": f"{rng.randint(1, 250)} {rng.choice(STREETS)}, {ward}",
                            "lat": wlat, "lon": wlon,
                            "id_number": f"0{rng.randint(10**10, 10**11 - 1)}"}}, now=now))
    for task in tasks[:3]:
        payouts.assign(session, dispatcher, task.id, couriers[0].id, now=now)
    # cash: COD shifts are handed in, one of them 20,000 VND short; the latest stays open
    from sqlalchemy import func

    from models import CashEntry

    shifts = session.execute(
        select(CashEntry.courier_id, CashEntry.service_date, func.sum(CashEntry.amount))
        .group_by(CashEntry.courier_id, CashEntry.service_date)
        .order_by(CashEntry.service_date, CashEntry.courier_id)).all()
    for n, (courier_id, day, on_hand) in enumerate(shifts[:-1]):
        if on_hand > 0:
            cash.handover(session, dispatcher, courier_id, day,
                          on_hand - (20_000 if n == 0 and on_hand > 20_000 else 0), now=now,
                          note="Đếm tại quầy", client_ref=None)
    # complaints: a late EMS, a damaged parcel (answered), a missing scan
    delivered = session.execute(select(Item).where(Item.status == Status.DELIVERED)
                                .limit(2)).unique().scalars().all()
    waiting = session.execute(select(Item).where(Item.status == Status.AT_DELIVERY_OFFICE)
                              .limit(1)).unique().scalars().all()
    cases = [(i, ComplaintCategory.LATE, "Khách phản ánh giao trễ") for i in delivered[:1]]
    cases += [(i, ComplaintCategory.DAMAGED, "Hộp bị móp góc") for i in delivered[1:2]]
    cases += [(i, ComplaintCategory.MISSING_SCAN, "Chưa có lần phát nào") for i in waiting]
    for n, (item, category, text) in enumerate(cases):
        case = complaints.open_staff(session, dispatcher, item.identifier, category, text,
                                     now=now - timedelta(hours=6 - n))
        if category is ComplaintCategory.DAMAGED:
            complaints.update(session, dispatcher, case.id, {
                "status": ComplaintStatus.RESOLVED,
                "resolution_note": "Đã bồi thường theo quy định"}, now=now)
    session.flush()
