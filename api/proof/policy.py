"""Delivery policies: what proves a delivery, per product and per item.

| product | always | one of |
|---|---|---|
| EMS | name of who received it | signature, photo |
| registered | name, signature | |
| insured letter | name, signature, ID number | |
| administrative document | name, signature, ID number, photo | |
| parcel, e-commerce parcel, express letter | | signature, photo |
| letter | | |

Item flags add to that: ``signature_required`` a signature, ``id_check_required`` the
name and ID number; a COD item needs the amount collected; an item with a delivery code
needs the code. A proxy (``relation: proxy``) shows their own ID number, and for items
with an ID check (the flag, or a product whose policy asks for the ID number: insured
letters, administrative documents) also a photo (of the authorisation). A delivery of
part of the pieces (``pieces_delivered`` fewer than the item's ``pieces``) needs its
``partial_reason``, and collects from 0 to the COD amount
(:func:`api.items.service.check_proof`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from typing import Any

from models import Item, Product

_ALL: dict[Product, frozenset[str]] = {
    Product.EMS: frozenset({"received_by"}),
    Product.REGISTERED: frozenset({"received_by", "signature"}),
    Product.INSURED: frozenset({"received_by", "signature", "id_number"}),
    Product.ADMIN_DOCUMENT: frozenset({"received_by", "signature", "id_number", "photo"}),
}
_ONE_OF: dict[Product, frozenset[str]] = {
    Product.EMS: frozenset({"signature", "photo"}),
    Product.PARCEL: frozenset({"signature", "photo"}),
    Product.ECOMMERCE: frozenset({"signature", "photo"}),
    Product.EXPRESS_LETTER: frozenset({"signature", "photo"}),
}
DETAIL = {
    "received_by": "The name of the person who received the item.",
    "signature": "The recipient's signature (an uploaded signature image).",
    "photo": "A photo (an uploaded photo).",
    "id_number": "The ID number shown at the door.",
    "delivery_code": "The one-time code the recipient was given.",
    "cod_collected": "The cash collected (must equal the COD amount; for a partial "
                     "delivery, what the recipient paid for the part they accepted, from 0).",
}

# Items worth a one-time delivery code (VND)
CODE_COD_THRESHOLD = 3_000_000
CODE_VALUE_THRESHOLD = 5_000_000


def needs_delivery_code(item: Item) -> bool:
    return item.cod_amount >= CODE_COD_THRESHOLD or item.declared_value >= CODE_VALUE_THRESHOLD


def new_delivery_code() -> str:
    return f"{secrets.randbelow(10**6):06d}"


def required(item: Item, relation: str = "recipient") -> tuple[frozenset[str], frozenset[str]]:
    """(every one of, at least one of) for this item and who receives it."""
    every = set(_ALL.get(item.product, frozenset()))
    if item.signature_required:
        every.add("signature")
    id_checked = item.id_check_required or "id_number" in every
    if item.id_check_required:
        every |= {"received_by", "id_number"}
    if relation == "proxy":
        every |= {"received_by", "id_number"}
        if id_checked:
            every.add("photo")  # the authorisation
    if item.delivery_code:
        every.add("delivery_code")
    if item.cod_amount > 0:
        every.add("cod_collected")
    one_of = _ONE_OF.get(item.product, frozenset())
    if one_of & every:
        one_of = frozenset()
    return frozenset(every), one_of


def missing(item: Item, proof: Mapping[str, Any] | None) -> list[dict[str, str]]:
    """What the proof lacks, as problem-details pointers."""
    proof = proof or {}
    every, one_of = required(item, proof.get("relation", "recipient"))
    out = [{"pointer": f"/proof/{k}", "detail": f"Required: {DETAIL[k]}"}
           for k in sorted(every) if proof.get(k) in (None, "")]
    if one_of and not any(proof.get(k) for k in one_of):
        out.append({"pointer": "/proof", "detail": "One of these is required: "
                    + ", ".join(sorted(one_of)) + "."})
    return out


def normalise_id(number: str) -> str:
    return "".join(ch for ch in number.upper() if ch.isalnum())


def id_hash(item_identifier: str, number: str) -> str:
    """Salted with the item number: the same ID hashes differently on every item."""
    return hmac.new(item_identifier.encode(), normalise_id(number).encode(),
                    hashlib.sha256).hexdigest()
