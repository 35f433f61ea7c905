"""Database models. Import from here: ``from models import db, Item, TrackingEvent``."""

from .assignment import AssignmentHow, ItemAssignment
from .base import Base, UTCDateTime, db, let_other_writers_in, lock_rows, locked_one, utcnow
from .cash import CashEntry, CashKind
from .complaint import Complaint, ComplaintCategory, ComplaintChange, ComplaintStatus
from .item import IdentifierKind, Item, Product, TrackingEvent
from .lifecycle import (
    Awaiting,
    EventCode,
    FailureAction,
    FailureReason,
    IllegalTransitionError,
    ItemState,
    Status,
)
from .office import Office
from .payout import PayoutStatus, PayoutTask
from .proof import DeliveryProof, Evidence, EvidenceKind, PartialReason, Relation
from .remittance import CodStatement, CodStatementLine, StatementStatus, sender_key
from .request import RecipientRequest, RequestKind
from .review import OutcomeReview, ReviewState
from .round import DeliveryRound, RoundWard, ward_key
from .route_plan import PlanStatus, RoutePlan
from .scan import Scan, ScanAction, UnreadScan, UnreadState
from .sync import CourierPosition, SyncUpload
from .user import ApiToken, RevokedSession, Role, User

__all__ = [
    "ApiToken",
    "AssignmentHow",
    "Awaiting",
    "Base",
    "CashEntry",
    "CashKind",
    "CodStatement",
    "CodStatementLine",
    "Complaint",
    "ComplaintCategory",
    "ComplaintChange",
    "ComplaintStatus",
    "CourierPosition",
    "DeliveryRound",
    "DeliveryProof",
    "EventCode",
    "Evidence",
    "EvidenceKind",
    "FailureAction",
    "FailureReason",
    "IdentifierKind",
    "IllegalTransitionError",
    "Item",
    "ItemAssignment",
    "ItemState",
    "Office",
    "OutcomeReview",
    "PartialReason",
    "Product",
    "PayoutStatus",
    "PayoutTask",
    "PlanStatus",
    "RecipientRequest",
    "Relation",
    "RequestKind",
    "ReviewState",
    "RevokedSession",
    "Role",
    "RoundWard",
    "RoutePlan",
    "Scan",
    "ScanAction",
    "StatementStatus",
    "Status",
    "SyncUpload",
    "TrackingEvent",
    "UnreadScan",
    "UnreadState",
    "User",
    "UTCDateTime",
    "db",
    "let_other_writers_in",
    "lock_rows",
    "sender_key",
    "locked_one",
    "utcnow",
    "ward_key",
]
