"""Vietnamese and English labels for what customers see."""

from __future__ import annotations

LANGS = ("vi", "en")

STATUS = {
    "accepted": ("Đã nhận gửi", "Accepted"),
    "in_sorting": ("Đang khai thác tại trung tâm", "At the sorting centre"),
    "in_transit": ("Đang vận chuyển", "In transit"),
    "at_delivery_office": ("Đã đến bưu cục phát", "At the delivery office"),
    "held_at_office": ("Lưu tại bưu cục", "Held at the post office"),
    "out_for_delivery": ("Đang giao hàng", "Out for delivery"),
    "delivery_failed": ("Giao không thành công", "Delivery attempt failed"),
    "at_pickup_point": ("Chờ nhận tại điểm nhận", "Ready for collection"),
    "delivered": ("Đã giao thành công", "Delivered"),
    "partially_delivered": ("Đã phát một phần, phần còn lại đang chuyển hoàn về người gửi",
                            "Partially delivered; the rest is being returned to the sender"),
    "return_to_sender": ("Đang chuyển hoàn", "Returning to sender"),
}

EVENT = {
    "EMA": ("Nhận gửi bưu gửi", "Posted / accepted"),
    "EDD": ("Đến trung tâm khai thác", "Arrived at the sorting centre"),
    "EDE": ("Rời trung tâm khai thác", "Left the sorting centre"),
    "EMG": ("Đến bưu cục phát", "Arrived at the delivery office"),
    "EDF": ("Lưu tại bưu cục phát", "Held at the delivery office"),
    "EDG": ("Bưu tá đang đi phát", "Out for delivery"),
    "EMH": ("Phát không thành công", "Delivery attempt failed"),
    "EMI": ("Phát thành công", "Delivered"),
    "EDH": ("Đến điểm nhận hàng", "Arrived at the collection point"),
    "RTS": ("Chuyển hoàn về người gửi", "Being returned to the sender"),
}

#: a delivery (EMI) of part of the pieces: its label instead of ``EVENT["EMI"]``
PARTIAL_DELIVERY = ("Phát một phần", "Partially delivered")

#: why a delivery handed over only part of the pieces (models.PartialReason)
PARTIAL_REASON = {
    "refused_part": ("Người nhận từ chối một phần", "The recipient refused part of it"),
    "damaged_part": ("Một phần bị hư hỏng", "Part of it was damaged"),
    "missing_part": ("Thiếu một phần", "Part of it was missing"),
    "other": ("Lý do khác", "Another reason"),
}

REASON = {
    "recipient_absent": ("Người nhận vắng nhà", "Recipient not at home"),
    "unreachable_by_phone": ("Không liên lạc được người nhận", "Recipient unreachable by phone"),
    "refused": ("Người nhận từ chối nhận", "Recipient refused the item"),
    "wrong_address": ("Sai hoặc thiếu địa chỉ", "Wrong or incomplete address"),
    "wrong_phone": ("Sai số điện thoại", "Wrong phone number"),
    "asks_another_day": ("Người nhận hẹn ngày khác", "Recipient asked for another day"),
    "will_collect_at_office": ("Người nhận sẽ đến bưu cục nhận",
                               "Recipient will collect at the post office"),
    "moved": ("Người nhận đã chuyển đi", "Recipient has moved"),
    "weather": ("Thời tiết / bất khả kháng", "Weather / force majeure"),
    "carrier_overloaded": ("Quá tải, phát lại sau", "Carrier overloaded, will retry"),
    "damaged": ("Bưu gửi hư hỏng", "Item damaged"),
}

ACTION = {
    "notice_left": ("Đã để lại giấy báo", "Notice left"),
    "retry_next_round": ("Sẽ phát lại", "Will retry on the next round"),
    "hold_at_office": ("Lưu tại bưu cục chờ nhận", "Held at the office for collection"),
    "called_recipient": ("Đã gọi cho người nhận", "Recipient called"),
    "return_to_sender": ("Chuyển hoàn", "Return to sender"),
}

PRODUCT = {
    "ems": ("Chuyển phát nhanh EMS", "EMS express"),
    "registered": ("Thư bảo đảm", "Registered mail"),
    "parcel": ("Bưu kiện", "Parcel"),
    "express_letter": ("Thư nhanh", "Express letter"),
    "insured": ("Thư có giá trị khai giá", "Insured letter"),
    "ecommerce": ("Bưu kiện thương mại điện tử", "E-commerce parcel"),
    "admin_document": ("Hồ sơ hành chính công", "Administrative document"),
    "letter": ("Thư", "Letter"),
}

UI = {
    "title": ("Tra cứu bưu gửi", "Track an item"),
    "number": ("Số hiệu bưu gửi", "Item number"),
    "search": ("Tra cứu", "Track"),
    "status": ("Trạng thái", "Status"),
    "history": ("Hành trình", "History"),
    "destination": ("Nơi đến", "Destination"),
    "product": ("Dịch vụ", "Service"),
    "not_found": ("Không tìm thấy bưu gửi", "No item with this number"),
    "invalid": ("Số hiệu không hợp lệ", "Invalid item number"),
    "rate_limited": ("Quá nhiều lượt tra cứu, vui lòng thử lại sau ít phút",
                     "Too many lookups, please try again in a few minutes"),
    "cod": ("Thu hộ (COD)", "Cash on delivery"),
    "next_attempt": ("Dự kiến phát lại", "Next delivery attempt"),
    "awaiting_collection": ("Bưu gửi đang chờ quý khách đến nhận tại bưu cục",
                            "Waiting for you to collect it at the post office"),
    "collect_by": ("Hạn nhận", "Collect by"),
    "collect_at": ("Nơi nhận", "Collect at"),
    "collection_over": ("Đã quá hạn nhận, bưu gửi sẽ được chuyển hoàn cho người gửi",
                        "Not collected in time: it will be returned to the sender"),
    "awaiting_return": ("Bưu gửi sẽ được chuyển hoàn cho người gửi",
                        "It will be returned to the sender"),
    "pieces": ("Số kiện", "Pieces"),
    "pieces_delivered": ("Đã giao {delivered}/{pieces} kiện; phần còn lại được chuyển hoàn "
                         "cho người gửi",
                         "{delivered} of {pieces} pieces delivered; the rest goes back to "
                         "the sender"),
    "expected_delivery": ("Dự kiến giao hôm nay", "Expected today"),
    "time_note": ("Giờ Việt Nam (UTC+7)", "Vietnam time (UTC+7)"),
    "unconfirmed": ("Bưu tá đã báo, bưu cục chưa xác nhận",
                    "Reported by the courier, not yet confirmed by the post office"),
}


def label(table: dict[str, tuple[str, str]], key: str | None, lang: str) -> str | None:
    if key is None:
        return None
    pair = table.get(key)
    if pair is None:
        return key
    return pair[0] if lang == "vi" else pair[1]
