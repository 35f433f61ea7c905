"""Vietnamese and English labels of the dispatcher console (same shape as
api/tracking/labels.py, whose status, event, reason and product tables it reuses).
Plain data: the public tracking page imports the complaint tables from here too. What
a refused form or request is told (PROBLEM, FIELD...) is Vietnamese only: an English
page is told the service's own words (api/console/refusals.py)."""

from __future__ import annotations

from ..tracking.labels import (
    ACTION,
    EVENT,
    LANGS,
    PARTIAL_REASON,
    PRODUCT,
    REASON,
    STATUS,
    label,
)

__all__ = ["ACTION", "EVENT", "LANGS", "PARTIAL_REASON", "PRODUCT", "REASON", "STATUS",
           "label", "UI",
           "COMPLAINT_CATEGORY", "COMPLAINT_CHANNEL", "COMPLAINT_STATUS", "CASH_KIND", "FLAG",
           "PUBLIC_COMPLAINT",
           "PLAN_STATUS", "PLAN_ERROR", "PLAN_ERROR_UNKNOWN", "ROLE", "UNPLANNED",
           "ASSIGNMENT_HOW", "ROUTE_ISSUE", "EDIT_MISTAKE", "CITED_FOR",
           "PAYOUT_STATUS", "PAYOUT_PROGRAM", "STATEMENT_STATUS",
           "PAYOUT_RELATION", "PROOF_RELATION",
           "PROBLEM", "HTTP_STATUS", "HTTP_OTHER", "FIELD", "FIELD_ERROR", "FIELD_INVALID",
           "FIELD_CHECK", "SCHEMA_ERROR"]

UI = {
    "console": ("Bảng điều phối", "Dispatcher console"),
    "login": ("Đăng nhập", "Log in"),
    "logout": ("Đăng xuất", "Log out"),
    "username": ("Tên đăng nhập", "Username"),
    "password": ("Mật khẩu", "Password"),
    "bad_login": ("Sai tên đăng nhập hoặc mật khẩu.", "Wrong username or password."),
    "too_many_logins": ("Quá nhiều lần đăng nhập sai. Vui lòng thử lại sau ít phút.",
                        "Too many failed logins. Please try again in a few minutes."),
    "session_expired": ("Phiên làm việc đã hết hạn, vui lòng đăng nhập lại.",
                        "Your session has expired; please log in again."),
    "logged_out": ("Đã đăng xuất.", "You are logged out."),
    "forbidden": ("Không có quyền truy cập", "Access denied"),
    "couriers_refused": ("Bảng điều phối dành cho điều phối viên và quản trị viên. Bưu tá "
                         "dùng ứng dụng trên điện thoại.",
                         "The console is for dispatchers and admins. Couriers use the "
                         "phone app."),
    "check_fields": ("Kiểm tra lại", "Check"),
    "csrf_failed": ("Biểu mẫu đã hết hạn hoặc không hợp lệ. Tải lại trang và thử lại.",
                    "The form expired or is not valid. Reload the page and try again."),
    "language": ("Ngôn ngữ", "Language"),
    "other_lang": ("English", "Tiếng Việt"),
    "office": ("Bưu cục", "Office"),
    # navigation
    "nav_map": ("Bản đồ & lập tuyến", "Map & planning"),
    "nav_items": ("Tra cứu bưu gửi", "Item search"),
    "nav_complaints": ("Khiếu nại", "Complaints"),
    "nav_cash": ("Tiền thu hộ", "Cash"),
    "nav_outcomes": ("Xác nhận phát", "Outcomes"),
    "nav_quality": ("Chất lượng", "Quality"),
    "nav_remittance": ("Đối soát COD", "COD to senders"),
    "remittance_title": ("Đối soát và trả tiền thu hộ cho người gửi",
                         "Reconciling and paying COD to senders"),
    "owed_senders": ("Tiền thu hộ chưa đối soát, theo người gửi",
                     "COD not yet on a statement, per sender"),
    "handed_in_cod": ("Đã nộp về bưu cục", "Handed in"),
    "not_handed_in": ("Chưa nộp về bưu cục", "Not handed in yet"),
    "items_count": ("Số bưu gửi", "Items"),
    "first_day": ("Từ ngày", "Since"),
    "nothing_owed": ("Không còn tiền thu hộ nào chưa đối soát.", "No COD left to reconcile."),
    "no_sender_phone": ("(không có số điện thoại người gửi)", "(no sender phone)"),
    "draw_statement": ("Lập bảng đối soát", "Draw up a statement"),
    "date_from": ("Từ ngày", "From"),
    "date_to": ("Đến ngày", "To"),
    "statements": ("Bảng đối soát", "Statements"),
    "statement": ("Bảng đối soát", "Statement"),
    "no_statements": ("Chưa có bảng đối soát.", "No statements yet."),
    "total_amount": ("Tổng tiền", "Total"),
    "delivered_on": ("Ngày phát", "Delivered on"),
    "pay_reference": ("Mã giao dịch chuyển khoản", "Transfer reference"),
    "transfer_at": ("Thời điểm chuyển tiền", "Paid at"),
    "record_payment": ("Ghi nhận đã trả tiền", "Record the payment"),
    "cancel_statement": ("Hủy bảng đối soát", "Cancel the statement"),
    "statement_drawn": ("Đã lập bảng đối soát:", "Statement drawn up:"),
    "statement_paid": ("Đã ghi nhận trả tiền cho người gửi.", "Payment recorded."),
    "statement_cancelled": ("Đã hủy bảng đối soát; các bưu gửi được đối soát lại.",
                            "Statement cancelled; its items are free again."),
    "nav_missing": ("Thiếu quét", "Missing scans"),
    "nav_unread": ("Ảnh không đọc được", "Unread photos"),
    "unread_title": ("Ảnh nhãn bưu tá gửi không đọc được số hiệu",
                     "Label photos with no item number read"),
    "unread_help": ("Đọc số hiệu trên ảnh và ghi nhận lượt quét cho bưu tá (với giờ và vị trí "
                    "trên điện thoại của họ), hoặc bỏ qua kèm lý do.",
                    "Read the number on the photo and record the scan as the courier's (their "
                    "phone's time and place), or dismiss it with a reason."),
    "no_unread": ("Không có ảnh nào chờ xử lý.", "No photo waits to be resolved."),
    "nav_rounds": ("Tuyến phát", "Delivery rounds"),
    "rounds_title": ("Tuyến phát của bưu cục", "The office's delivery rounds"),
    "rounds_help": ("Mỗi tuyến phát là một địa bàn ổn định theo phường/xã, thường do một "
                    "bưu tá phát. Khi lập kế hoạch, bưu gửi thuộc tuyến được ưu tiên giao "
                    "cho bưu tá của tuyến. Thêm, sửa tuyến qua API (/api/v1/rounds).",
                    "Each delivery round is a stable territory of wards, usually ridden by "
                    "one courier. Route plans give a round's items to its courier when "
                    "that costs little. Rounds are added and changed through the API "
                    "(/api/v1/rounds)."),
    "no_rounds": ("Bưu cục chưa có tuyến phát nào.", "The office has no delivery round yet."),
    "round_code": ("Mã tuyến", "Code"),
    "round_name": ("Tên tuyến", "Name"),
    "round_wards": ("Phường/xã", "Wards"),
    "round_courier": ("Bưu tá phụ trách", "Usual courier"),
    "no_courier": ("Chưa có", "None yet"),
    "scan_action": ("Thao tác", "Action"),
    "received_at": ("Giờ máy chủ nhận", "Received"),
    "times_sent": ("Số lần gửi", "Times sent"),
    "item_number_read": ("Số hiệu đọc được", "Number read"),
    "record_scan": ("Ghi nhận", "Record"),
    "dismiss_reason": ("Lý do bỏ qua", "Reason to dismiss"),
    "dismiss": ("Bỏ qua", "Dismiss"),
    "unread_resolved": ("Đã ghi nhận lượt quét.", "The scan is recorded."),
    "unread_dismissed": ("Đã bỏ qua.", "Dismissed."),
    "missing_title": ("Bưu gửi quá hạn chưa có lần quét tiếp theo",
                      "Items whose next scan is overdue"),
    "idle_hours": ("Tại bưu cục quá (giờ)", "At the office over (hours)"),
    "out_hours": ("Đang phát quá (giờ)", "Out for delivery over (hours)"),
    "hours_without_scan": ("Số giờ chưa quét", "Hours without a scan"),
    "last_scan": ("Lần quét cuối", "Last scan"),
    "expected_scan": ("Cần có", "Expected"),
    "expect_result": ("kết quả phát (EMI hoặc EMH)", "a delivery result (EMI or EMH)"),
    "expect_attempt": ("lượt đi phát (EDG)", "a delivery attempt (EDG)"),
    "no_missing": ("Không có bưu gửi nào quá hạn quét.", "No item is overdue for a scan."),
    "expect_return": ("chuyển hoàn (RTS): đã hết số lần phát",
                      "a return to sender (RTS): attempts used up"),
    "expect_return_chosen": ("chuyển hoàn (RTS): bưu tá đã chọn chuyển hoàn",
                             "a return to sender (RTS): the courier's choice"),
    "expect_return_partial": ("hoàn một phần (RTS): phần chưa phát được",
                              "a return to sender (RTS) of the pieces not delivered"),
    "expect_back_for_collection": ("quét nhập lại bưu cục (EDF) để người nhận đến nhận",
                                   "its scan back in at the office (EDF), to be collected "
                                   "there"),
    "expect_collection": ("người nhận đến nhận tại bưu cục (EMI), hoặc chuyển hoàn (RTS)",
                          "its collection at the office (EMI), or a return (RTS)"),
    "expect_not_collected": ("chuyển hoàn (RTS): người nhận không đến nhận, hạn nhận",
                             "a return to sender (RTS): not collected by"),
    "held_note": ("Không liệt kê vì đang lưu tại bưu cục chờ người nhận đến nhận (chưa hết "
                  "hạn):", "Not listed, held at the office for their recipient to collect "
                  "(not yet past the day):"),
    "return_why": ("Lý do chuyển hoàn", "Why returned"),
    "why_partially_delivered": ("phát một phần, hoàn phần còn lại",
                                "partially delivered, the rest goes back"),
    "why_attempts_used_up": ("hết số lần phát", "attempts used up"),
    "why_return_chosen": ("bưu tá chọn chuyển hoàn", "the courier's choice"),
    "why_not_collected": ("không đến nhận, hạn", "not collected by"),
    "next_attempt": ("Lần phát tiếp theo", "Next attempt"),
    "requests_title": ("Yêu cầu của người nhận", "The recipient's requests"),
    "record_request": ("Ghi yêu cầu của người nhận", "Record the recipient's request"),
    "request_help": ("Người nhận gọi điện hoặc đến quầy: hẹn đến bưu cục nhận trước một ngày, "
                     "hoặc xin phát lại vào một ngày.", "The recipient called or came to "
                     "the counter: they will collect it at the office by a day, or ask for "
                     "a delivery on a day."),
    "request_kind": ("Yêu cầu", "Request"),
    "request_hold": ("đến bưu cục nhận, hạn", "collect at the office by"),
    "request_deliver": ("phát lại vào ngày", "deliver on"),
    "request_day": ("Ngày", "Day"),
    "request_note": ("Ghi chú", "Note"),
    "request_recorded": ("Đã ghi yêu cầu của người nhận.", "The recipient's request is "
                         "recorded."),
    "awaiting": ("Đang chờ", "Awaiting"),
    "awaiting_collection": ("người nhận đến bưu cục nhận", "its recipient, at the office"),
    "awaiting_return": ("chuyển hoàn cho người gửi", "its return to the sender"),
    "collect_by": ("hạn nhận", "collect by"),
    "due_later_note": ("Không liệt kê vì lần phát tiếp theo hẹn vào ngày sau:",
                       "Not listed, their next attempt being due on a later day:"),
    "returns_title": ("Bưu gửi chờ chuyển hoàn (đã hết số lần phát, bưu tá chọn "
                      "chuyển hoàn, hoặc quá hạn nhận)", "Items awaiting a return to sender "
                      "(attempts used up, the courier's choice, or not collected in time)"),
    "returns_help": ("Đã hết số lần phát, hoặc bưu tá đã chọn chuyển hoàn ở lần phát không "
                     "thành công (từ chối nhận, chuyển đi…), hoặc người nhận không đến "
                     "bưu cục nhận trước hạn, nhưng chưa chuyển hoàn (lần "
                     "phát không thành công được đồng bộ muộn không tự chuyển hoàn); không "
                     "được lập kế hoạch phát lại. Quét chuyển hoàn (RTS) để trả lại người "
                     "gửi.",
                     "Their failed attempts use up the limit, or their courier chose the "
                     "return at a failed attempt (refused, moved…), or their recipient "
                     "did not collect them at the office by the day on the notice, but no "
                     "return is "
                     "recorded (an attempt synced late does not return an item by itself); "
                     "no plan routes them. Scan them as returned to sender (RTS)."),
    "no_returns": ("Không có bưu gửi nào chờ chuyển hoàn.",
                   "No item is awaiting a return."),
    "attempts_of": ("Số lần phát / giới hạn", "Attempts / limit"),
    "last_attempt": ("Lần phát cuối", "Last attempt"),
    "synced_late": ("đồng bộ muộn", "synced late"),
    "waiting_since": ("Chờ từ", "Waiting since"),
    "hours_waiting": ("Số giờ chờ", "Hours waiting"),
    # a paged list (the pager_nav macro, _macros.html): {a}, {b}, {n}, {p} filled in
    "pager_rows": ("Dòng {a}–{b} trong tổng số {n}", "Rows {a}–{b} of {n}"),
    "pager_page": ("Trang {p}/{n}", "Page {p} of {n}"),
    "prev_page": ("‹ Trang trước", "‹ Previous"),
    "next_page": ("Trang sau ›", "Next ›"),
    "pages": ("Các trang", "Pages"),
    "nav_import": ("Nhập CSV", "CSV import"),
    "nav_payouts": ("Chi trả", "Payouts"),
    # map and planning
    "date": ("Ngày", "Date"),
    "show": ("Xem", "Show"),
    "map_no_lib": ("Không tải được thư viện bản đồ (chạy make install).",
                   "The map library is not installed (run make install)."),
    "items_today": ("Bưu gửi trong ngày", "The day's items"),
    "unassigned": ("Chưa phân công", "Unassigned"),
    "couriers": ("Bưu tá", "Couriers"),
    "courier": ("Bưu tá", "Courier"),
    "last_seen": ("Vị trí gần nhất", "Last position"),
    "no_position": ("chưa có vị trí", "no position yet"),
    "ago": ("trước", "ago"),
    "plan_day": ("Lập tuyến trong ngày", "Plan the day"),
    "choose_couriers": ("Chọn bưu tá", "Choose couriers"),
    "choose_items": ("Chọn bưu gửi", "Choose items"),
    "all": ("Tất cả", "All"),
    "none": ("Bỏ chọn", "None"),
    "time_limit": ("Thời gian tối ưu (giây)", "Optimisation time (s)"),
    "optimise": ("Bắt đầu tối ưu", "Start optimisation"),
    "warm_start": ("Bắt đầu từ các tuyến đang áp dụng", "Start from the routes in force"),
    "warm_start_hint": ("Bỏ chọn để tối ưu lại từ đầu: các tuyến bưu tá đã sắp túi theo có "
                        "thể bị xáo trộn",
                        "Untick to optimise from scratch: the rounds couriers have sorted "
                        "their bags by may be reshuffled"),
    "rebalance": ("Cho phép chuyển bưu gửi đã giao giữa các bưu tá đã chọn",
                  "Let parcels already given out move between the chosen couriers"),
    "rebalance_hint": ("Bưu gửi còn ở bưu cục mà kế hoạch đã công bố giao cho một bưu tá có thể "
                       "chuyển sang bưu tá khác (ví dụ một bưu tá vào ca muộn); bưu gửi bưu tá "
                       "đang mang hoặc được giao tay vẫn giữ nguyên",
                       "Parcels still at the office that a published plan gave a courier may go "
                       "to another (e.g. a courier who joins late); what a courier has or was "
                       "given by hand stays theirs"),
    "move_cost": ("Chi phí chuyển một bưu gửi (m)", "Cost of moving a parcel (m)"),
    "move_cost_hint": ("Khi cho phép chuyển: một bưu gửi chỉ chuyển sang bưu tá khác khi việc "
                       "đó rút ngắn tổng quãng đường hơn con số này, hoặc khi bưu tá của nó "
                       "không chở hay đi kịp; 0: chỉ quãng đường quyết định",
                       "When parcels may move: one goes to another courier only when that "
                       "shortens the day by more than this, or when its courier cannot carry "
                       "or reach it in time; 0: distance alone decides"),
    "moved_previous": ("Chuyển {moved}/{previous} điểm của các tuyến đang áp dụng sang bưu tá "
                       "khác (chi phí chuyển {cost} m)",
                       "Moved {moved} of {previous} stops of the routes in force to another "
                       "courier (move cost {cost} m)"),
    "started_from": ("Khởi đầu từ tuyến có sẵn: {stops} điểm, theo kế hoạch {plans}",
                     "Warm start: {stops} stops from the routes of plan {plans}"),
    "started_cold": ("Tối ưu từ đầu, không dựa trên tuyến nào",
                     "Optimised from scratch, from no earlier routes"),
    "kept_previous": ("Giữ {kept}/{previous} điểm của tuyến đang áp dụng",
                      "Kept {kept} of {previous} stops of the route in force"),
    "ticked_elsewhere": ("{n} bưu gửi đã chọn thuộc bưu tá không có trong kế hoạch nên không "
                         "được đưa vào: {items}",
                         "{n} ticked parcels belong to couriers not in this plan and are "
                         "left out: {items}"),
    "and_more": ("và {n} bưu gửi khác", "and {n} more"),
    "progress": ("Tiến độ", "Progress"),
    "best_cost": ("Chi phí tốt nhất (m)", "Best cost so far (m)"),
    "publish": ("Công bố tuyến", "Publish"),
    "published": ("Đã công bố", "Published"),
    "routes": ("Tuyến", "Routes"),
    "stops": ("điểm", "stops"),
    "distance": ("Quãng đường", "Distance"),
    "eta": ("Giờ đến dự kiến", "ETA"),
    "move_to": ("Chuyển cho", "Move to"),
    "in_bag": ("Trong túi bưu tá: không chuyển cho người khác được",
               "In the courier's bag: it cannot go to another courier"),
    "up": ("Lên", "Up"),
    "down": ("Xuống", "Down"),
    "left_out": ("Không xếp được", "Not routed"),
    "edited": ("Đã chỉnh sửa, giờ đến đã tính lại", "Edited; ETAs recomputed"),
    "edited_issues": ("Đã chỉnh sửa, giờ đến đã tính lại; có tuyến vượt giới hạn (xem từng "
                      "tuyến)", "Edited; ETAs recomputed; some routes break their limits "
                      "(see each route)"),
    "confirm_publish_issues": ("Một số tuyến vượt giới hạn (quá tải, giao trễ hoặc quá giờ "
                               "ca). Vẫn công bố kế hoạch này?",
                               "Some routes break their limits (over capacity, late stops "
                               "or past the end of the shift). Publish this plan anyway?"),
    "publish_not_confirmed": ("Chưa công bố.", "Not published."),
    "plan_failed": ("Lập tuyến thất bại", "Planning failed"),
    "in_force": ("Tuyến đang áp dụng", "Route in force"),
    "from_plan": ("theo kế hoạch", "from plan"),
    "draft_plan": ("Kế hoạch chưa công bố", "Draft plan (not published)"),
    "replaced_if_published": ("sẽ được thay nếu công bố kế hoạch",
                              "replaced if you publish plan"),
    "no_items": ("Không có bưu gửi", "No items"),
    "routes_in_force": ("Tuyến đang áp dụng", "Routes in force"),
    "no_route_in_force": ("Chưa có tuyến nào được công bố cho ngày này",
                          "No route published for this day yet"),
    "published_at": ("công bố lúc", "published at"),
    "back_at": ("về bưu cục lúc", "back at the office at"),
    "last_stop_at": ("điểm cuối lúc", "last stop at"),
    "moved_away": ("Không còn ở chỗ bưu tá này (chuyển đi sau khi công bố)",
                   "No longer with this courier (moved since it was published)"),
    "now_with": ("nay thuộc", "now with"),
    "stop_done": ("đã xong", "done"),
    "issues_accepted_by": ("Đã chấp nhận vượt giới hạn: {by}, lúc {at}",
                           "Issues accepted by {by} at {at}"),
    "courier_deactivated": ("bưu tá đã ngừng hoạt động", "courier deactivated"),
    "courier_other_office": ("bưu tá đã chuyển bưu cục khác",
                             "courier moved to another office"),
    "updated_at": ("Cập nhật lúc", "Updated at"),
    "stale_data": ("Không tải lại được dữ liệu; đang hiện dữ liệu lúc {at}, sẽ thử lại.",
                   "Could not refresh the data; showing it as of {at}, retrying."),
    # items
    "search_item": ("Số hiệu bưu gửi", "Item number"),
    "search": ("Tìm", "Search"),
    "not_found": ("Không tìm thấy bưu gửi", "No item with this number"),
    "page_not_found": ("Không tìm thấy, hoặc bạn không có quyền xem",
                       "Not found, or not yours to see"),
    "timeline": ("Hành trình", "Timeline"),
    "status": ("Trạng thái", "Status"),
    "product": ("Dịch vụ", "Service"),
    "recipient": ("Người nhận", "Recipient"),
    "sender": ("Người gửi", "Sender"),
    "cod": ("Thu hộ (COD)", "Cash on delivery"),
    "window": ("Khung giờ giao", "Delivery window"),
    "expected_delivery": ("Dự kiến giao hôm nay", "Expected today"),
    "event": ("Sự kiện", "Event"),
    "device_time": ("Giờ thiết bị", "Device time"),
    "server_time": ("Giờ máy chủ", "Server time"),
    "actor": ("Người thực hiện", "By"),
    "gps": ("GPS", "GPS"),
    "flags": ("Cảnh báo", "Flags"),
    "proof": ("Bằng chứng giao", "Proof of delivery"),
    "received_by": ("Người nhận hàng", "Received by"),
    "partial_delivery": ("Phát một phần", "Partial delivery"),
    "pieces": ("Số kiện", "Pieces"),
    "pieces_unit": ("kiện", "pieces"),
    "signature": ("Chữ ký", "Signature"),
    "photo": ("Ảnh", "Photo"),
    "scan_photo": ("Ảnh quét nhãn", "Scan photo"),
    "event_photo": ("Ảnh tại địa chỉ", "Photo at the address"),
    "reused_from": ("đã dùng trước cho", "first used for"),
    "gps_trail": ("Lộ trình GPS quanh mỗi lần phát", "GPS trail around each attempt"),
    "no_trail": ("Không có dữ liệu GPS quanh các lần phát.",
                 "No GPS pings around the attempts."),
    "open_complaint": ("Mở hồ sơ khiếu nại", "Open a complaint case"),
    "category": ("Loại khiếu nại", "Category"),
    "description": ("Nội dung", "Description"),
    "submit": ("Gửi", "Submit"),
    "times_vn": ("Giờ Việt Nam (UTC+7)", "Vietnam time (UTC+7)"),
    "not_applied": ("không áp dụng (đồng bộ trễ)", "not applied (late sync)"),
    "custody": ("Bưu tá giữ bưu gửi", "Who held the item"),
    "no_custody": ("Chưa giao cho bưu tá nào.", "Never assigned to a courier."),
    "held_from": ("Từ", "From"),
    "held_until": ("Đến", "Until"),
    "still_held": ("đang giữ", "still holds it"),
    "assigned_by": ("Giao bởi", "Given by"),
    "ended_by": ("Kết thúc bởi", "Ended by"),
    # complaints
    "queue": ("Hàng đợi khiếu nại", "Complaints queue"),
    "reference": ("Mã hồ sơ", "Reference"),
    "item": ("Bưu gửi", "Item"),
    "channel": ("Kênh", "Channel"),
    "opened": ("Mở lúc", "Opened"),
    "due": ("Hạn trả lời", "Due"),
    "sla": ("Thời hạn (SLA)", "SLA clock"),
    "overdue": ("Quá hạn", "Overdue"),
    "left": ("còn lại", "left"),
    "overdue_by": ("quá hạn", "overdue by"),
    "status_unchanged": ("giữ nguyên", "unchanged"),
    "empty_queue": ("Không có khiếu nại đang mở.", "No open complaints."),
    "update": ("Cập nhật", "Update"),
    "resolution": ("Kết quả xử lý", "Resolution note"),
    "evidence": ("Chứng cứ", "Evidence"),
    "overdue_only": ("Chỉ quá hạn", "Overdue only"),
    "complaint_history": ("Lịch sử xử lý", "History"),
    "no_complaint_history": ("Chưa có thay đổi nào.", "No changes yet."),
    "changed_at": ("Thời điểm", "When"),
    "history_backfill": ("ghi chú đã có khi bắt đầu ghi lịch sử (người viết không rõ)",
                         "the note it had when the history began (writer not known)"),
    "item_now_at": ("bưu gửi nay ở bưu cục", "the item is now at"),
    "later_events": ("sự kiện sau khi bưu gửi rời bưu cục, do bưu cục khác ghi",
                     "events since the item left the office, recorded by"),
    "status_now": ("trạng thái hiện nay", "status now"),
    "answered_by_opening_office": (
        "Bưu cục mở khiếu nại trả lời (đóng, mở lại): bưu cục của bạn có thể điều tra và "
        "ghi chú khi khiếu nại còn mở.",
        "The office it was opened at answers it (closes, reopens): your office may "
        "investigate and add notes while it is open."),
    # cash
    "cash_report": ("Báo cáo tiền thu hộ", "Cash report"),
    "cod_collected": ("Đã thu COD", "COD collected"),
    "advances": ("Tạm ứng chi trả", "Payout advances"),
    "paid_out": ("Đã chi", "Paid out"),
    "handed_in": ("Đã nộp", "Handed in"),
    "corrections": ("Điều chỉnh", "Corrections"),
    "on_hand": ("Đang giữ", "On hand"),
    "discrepancy": ("Chênh lệch", "Discrepancy"),
    "ledger": ("Sổ quỹ ca", "Shift ledger"),
    "handover_title": ("Nhận tiền bưu tá nộp", "Cash handed in"),
    "counted_amount": ("Số tiền đếm được (VNĐ)", "Amount counted (VND)"),
    "record_handover": ("Ghi nhận", "Record"),
    "handover_recorded": ("Đã ghi nhận tiền nộp. Chênh lệch:", "Hand-in recorded. "
                          "Discrepancy:"),
    "correction_title": ("Điều chỉnh một bút toán", "Correct an entry"),
    "entry": ("Bút toán số", "Entry #"),
    "reason": ("Lý do", "Reason"),
    "record_correction": ("Ghi điều chỉnh", "Record correction"),
    "correction_recorded": ("Đã ghi điều chỉnh.", "Correction recorded."),
    "amount": ("Số tiền", "Amount"),
    "kind": ("Loại", "Kind"),
    "note": ("Ghi chú", "Note"),
    "expected": ("Theo sổ", "Expected"),
    "total_office": ("Cả bưu cục", "Whole office"),
    "outstanding": ("COD chưa thu trên bưu gửi", "COD still outstanding on items"),
    "no_entries": ("Chưa có bút toán.", "No entries."),
    "moved_holds_cash": ("đã chuyển bưu cục khác, còn giữ tiền của bưu cục này: nộp tại đây",
                         "moved to another office, still holds this office's cash: hand "
                         "it in here"),
    "cod_to_review": ("COD phát một phần cần kiểm tra", "Partial deliveries' COD to check"),
    "pieces_of": ("Số kiện đã phát", "Pieces delivered"),
    # payouts
    "payouts_title": ("Chi trả lương hưu, trợ cấp BHXH", "Pension and social-insurance payouts"),
    "payouts_help": ("Các khoản đến hạn trong ngày, các khoản chưa chi xong từ những ngày "
                     "trước và các khoản đã chi trong ngày.",
                     "Those due that day, those still open from earlier days and those paid "
                     "that day."),
    "payout": ("Khoản chi trả", "Payout"),
    "payout_reference": ("Mã chi trả", "Reference"),
    "beneficiary": ("Người hưởng", "Beneficiary"),
    "program": ("Chế độ", "Programme"),
    "period": ("Kỳ", "Period"),
    "due_date": ("Ngày đến hạn", "Due date"),
    "full_name": ("Họ tên", "Name"),
    "phone": ("Số điện thoại", "Phone"),
    "address": ("Địa chỉ", "Address"),
    "id_number": ("Số CCCD/CMND", "ID number"),
    "payment": ("Chi trả", "Payment"),
    "paid_at": ("Đã chi lúc", "Paid at"),
    "receipt": ("Biên nhận", "Receipt"),
    "failed_at": ("Không chi được lúc", "Failed at"),
    "failed_before": ("Lần giao trước không chi được", "An earlier round failed"),
    "clock_skew": ("Đồng hồ điện thoại lệch so với máy chủ", "Phone clock off the server time by"),
    "minutes": ("phút", "min"),
    "flagged_payouts": ("Khoản chi trả có cảnh báo cần kiểm tra:", "Payouts flagged for review:"),
    "flagged_all_pages": ("(cả danh sách, mọi trang)", "(the whole list, all pages)"),
    "no_payouts": ("Không có khoản chi trả nào.", "No payouts."),
    "create_payout": ("Tạo khoản chi trả", "New payout task"),
    "assign_payout": ("Giao", "Assign"),
    "assign_help": ("Số tiền được ghi là tạm ứng cho bưu tá", "The cash is recorded as an "
                    "advance to the courier"),
    "mark_failed": ("Không chi được", "Mark failed"),
    "payout_created": ("Đã tạo khoản chi trả:", "Payout task created:"),
    "payout_assigned": ("Đã giao khoản chi trả cho bưu tá (ghi tạm ứng):",
                        "Payout given to the courier (recorded as an advance):"),
    "payout_failed": ("Đã ghi nhận không chi được; khoản chi trả trở về bưu cục:",
                      "Recorded as failed; the payout is back at the office:"),
    "all_payouts": ("Danh sách khoản chi trả", "All payouts"),
    # quality
    "quality_day": ("Chỉ số trong ngày", "Figures for the day"),
    "quality_30": ("30 ngày gần nhất", "Last 30 days"),
    "delivered": ("Đã giao", "Delivered"),
    "on_time_rate": ("Tỷ lệ đúng hạn", "On-time rate"),
    "first_attempt_rate": ("Phát thành công lần đầu", "First-attempt success"),
    "failed_attempts": ("Phát không thành công", "Failed attempts"),
    "failed_by_reason": ("Phát không thành công theo lý do", "Failed attempts by reason"),
    "complaints_opened": ("Khiếu nại mới", "Complaints opened"),
    "complaints_closed": ("Khiếu nại đã đóng", "Complaints closed"),
    "median_answer": ("Trung vị thời gian trả lời (giờ)", "Median hours to answer"),
    # import
    "import_title": ("Nhập bưu gửi từ tệp CSV", "Import items from CSV"),
    "csv_file": ("Tệp CSV (UTF-8)", "CSV file (UTF-8)"),
    "upload": ("Tải lên", "Upload"),
    "created": ("Đã tạo", "Created"),
    "failed": ("Lỗi", "Failed"),
    "row": ("Dòng", "Row"),
    "column": ("Cột", "Column"),
    "error": ("Lỗi", "Error"),
    "csv_columns": ("Các cột", "Columns"),
    # outcomes couriers report, confirmed by the office
    "outcomes_title": ("Xác nhận kết quả phát", "Confirm what couriers reported"),
    "outcomes_help": ("Phát thành công và phát không thành công do bưu tá báo trong ca. "
                      "Kiểm tra bưu gửi mang về, tiền thu hộ đã nộp và bằng chứng giao, rồi "
                      "xác nhận hoặc ghi nhận sai lệch.",
                      "Deliveries and failed attempts couriers reported on their shift. "
                      "Check the parcels brought back, the COD cash handed in and the proof "
                      "of delivery, then confirm them or dispute one."),
    "outcome_reported": ("Chưa xác nhận", "Reported"),
    "outcome_confirmed": ("Đã xác nhận", "Confirmed"),
    "outcome_disputed": ("Có sai lệch", "Disputed"),
    "recorded_by_staff": ("do bưu cục ghi", "recorded by the office"),
    "by_delivery_code": ("xác nhận bằng mã giao hàng một lần",
                         "confirmed by the one-time code"),
    "outcome_backlog": ("Còn phải kiểm tra từ các ngày trước",
                        "Still to check from earlier days"),
    "outcome_backlog_help": ("Kết quả bưu tá báo chưa được xác nhận hay ghi sai lệch, "
                             "cũ nhất trước (các ngày từ {since} đến trước {before}).",
                             "Outcomes couriers reported that nobody has confirmed or "
                             "disputed yet, the oldest first (the days from {since} to "
                             "before {before})."),
    "outcome_backlog_none": ("Không còn kết quả nào chưa kiểm tra từ các ngày trước.",
                             "Nothing left to check from earlier days."),
    "outcome_backlog_more": ("Còn {n} kết quả nữa: mở từng ngày để xem.",
                             "{n} more: open each day to see them."),
    "oldest_day": ("Ngày cũ nhất", "Oldest day"),
    "confirm_all": ("Xác nhận tất cả kết quả chưa xác nhận", "Confirm every reported outcome"),
    "confirm": ("Xác nhận", "Confirm"),
    "dispute": ("Ghi sai lệch", "Dispute"),
    "dispute_note": ("Sai lệch gì (bắt buộc)", "What is wrong (required)"),
    "outcomes_confirmed": ("Số kết quả đã xác nhận:", "Outcomes confirmed:"),
    "outcome_reviewed": ("Đã ghi nhận.", "Recorded."),
    "no_outcomes": ("Không có kết quả phát nào do bưu tá báo trong ngày.",
                    "No outcomes reported by couriers that day."),
    "outcome": ("Kết quả", "Outcome"),
    "confirmation": ("Xác nhận", "Confirmation"),
}

COMPLAINT_CATEGORY = {
    "not_received": ("Chưa nhận được bưu gửi", "Item not received"),
    "late": ("Giao chậm", "Late delivery"),
    "damaged": ("Bưu gửi hư hỏng", "Item damaged"),
    "wrong_cod": ("Sai tiền thu hộ", "Wrong COD amount"),
    "false_attempt": ("Báo phát không thành công nhưng không ai đến",
                      "Attempt recorded but nobody came"),
    "courier_conduct": ("Thái độ bưu tá", "Courier conduct"),
    "missing_scan": ("Thiếu sự kiện quét", "Missing scan"),
    "other": ("Khác", "Other"),
}

#: who opened a complaint (``Complaint.channel``)
COMPLAINT_CHANNEL = {
    "office": ("Bưu cục", "Office"),
    "public": ("Khách hàng (trang tra cứu)", "Customer (tracking page)"),
}

COMPLAINT_STATUS = {
    "open": ("Mới mở", "Open"),
    "investigating": ("Đang xác minh", "Investigating"),
    "resolved": ("Đã giải quyết", "Resolved"),
    "rejected": ("Từ chối", "Rejected"),
}

CASH_KIND = {
    "cod_collected": ("Thu COD", "COD collected"),
    "payout": ("Chi", "Payout"),
    "handover": ("Nộp tiền", "Hand-in"),
    "correction": ("Điều chỉnh", "Correction"),
    "advance": ("Tạm ứng chi trả", "Payout advance"),
}

PAYOUT_STATUS = {
    "pending": ("Chờ giao bưu tá", "Waiting for a courier"),
    "assigned": ("Bưu tá đang đi chi", "With a courier"),
    "paid": ("Đã chi", "Paid"),
    "failed": ("Không chi được, đã về bưu cục", "Failed, back at the office"),
}

STATEMENT_STATUS = {
    "open": ("Chờ trả tiền", "Not paid yet"),
    "paid": ("Đã trả tiền", "Paid"),
    "cancelled": ("Đã hủy", "Cancelled"),
}

PAYOUT_PROGRAM = {
    "pension": ("Lương hưu", "Pension"),
    "social_insurance": ("Trợ cấp BHXH", "Social insurance"),
}

PAYOUT_RELATION = {
    "beneficiary": ("người hưởng", "the beneficiary"),
    "proxy": ("người được ủy quyền", "a proxy"),
}

#: who received a delivered item (its proof's ``relation``, models.proof.Relation)
PROOF_RELATION = {
    "recipient": ("người nhận", "the recipient"),
    "proxy": ("người được ủy quyền", "a proxy"),
}

#: What the console tells a Vietnamese page of a refused form or request, by its problem
#: type (``Problem.slug``, the ``/problems/<slug>`` of the answer: api/apidocs.py
#: describes each): Vietnamese only, as the English page shows the service's own
#: ``detail``. A type not here is told in the service's words (English); a test checks
#: that every type the code raises is here (api/console/refusals.py).
PROBLEM = {
    "bad-request": "Không đọc được yêu cầu (dữ liệu gửi lên sai định dạng). Tải lại trang "
                   "và thử lại.",
    "unsupported-media-type": "Dữ liệu gửi lên không đúng định dạng; chưa có gì được thực "
                              "hiện. Tải lại trang và thử lại.",
    "conflict": "Không thực hiện được vì trạng thái hiện tại không cho phép. Tải lại trang "
                "và thử lại.",
    "csrf-failed": "Biểu mẫu đã hết hạn hoặc không hợp lệ. Tải lại trang và thử lại.",
    "validation-error": "Dữ liệu chưa hợp lệ.",
    "illegal-transition": "Không thể ghi sự kiện này ở trạng thái hiện tại của bưu gửi.",
    "idempotency-key-reused": "Mã tham chiếu của biểu mẫu này đã được dùng cho một thao tác "
                              "khác; chưa có gì được lưu. Tải lại trang và nhập lại.",
    "not-assigned": "Bưu gửi phải được giao cho một bưu tá trước.",
    "duplicate-item": "Đã có bưu gửi mang số hiệu này.",
    "invalid-identifier": "Số hiệu bưu gửi không hợp lệ: sai chữ số kiểm tra của mã S10, "
                          "và cũng không phải mã của hãng vận chuyển khác.",
    "invalid-credentials": "Sai tên đăng nhập hoặc mật khẩu.",
    "unauthorized": "Phiên làm việc đã hết hạn hoặc chưa đăng nhập; vui lòng đăng nhập lại.",
    "forbidden": "Bạn không có quyền thực hiện thao tác này.",
    "not-found": "Không tìm thấy, hoặc bạn không có quyền xem.",
    "item-not-found": "Không tìm thấy bưu gửi mang số hiệu này.",
    "item-closed": "Bưu gửi đã phát thành công hoặc đã chuyển hoàn cho người gửi.",
    "not-an-outcome": "Chỉ xác nhận hoặc ghi sai lệch cho kết quả phát (phát thành công, "
                      "phát không thành công); không cho sự kiện khác hay bản ghi trùng.",
    "evidence-kind-conflict": "Tệp này đã được tải lên làm loại bằng chứng khác (ảnh gửi lại "
                              "làm chữ ký, hoặc ngược lại); không có gì thay đổi.",
    "not-waiting": "Chỉ ghi được yêu cầu của người nhận cho bưu gửi đang ở bưu cục, đang lưu "
                   "tại bưu cục chờ người nhận đến nhận, hoặc vừa phát không thành công; bưu "
                   "gửi này không ở các trạng thái đó.",
    "attempts-used-up": "Bưu gửi đã hết số lần phát: sẽ được chuyển hoàn cho người gửi, "
                        "không hẹn phát lại được nữa; người nhận vẫn có thể đến bưu cục nhận "
                        "cho đến khi chuyển hoàn.",
    "item-reassigned": "Bưu gửi đã được giao cho bưu tá khác trước thời điểm của sự kiện; "
                       "chưa có gì được ghi nhận.",
    "csv-header": "Dòng tiêu đề của tệp CSV thiếu cột, lặp cột hoặc có cột không nhận ra; "
                  "xem danh sách các cột.",
    "csv-malformed": "Tệp không phải là CSV hợp lệ.",
    "csv-encoding": "Tệp CSV phải được lưu với bảng mã UTF-8.",
    "csv-missing": "Chưa chọn tệp CSV.",
    "csv-too-many-rows": "Tệp có quá nhiều dòng cho một lần nhập; hãy chia thành nhiều tệp "
                         "nhỏ hơn.",
    "proof-required": "Thiếu bằng chứng giao mà dịch vụ của bưu gửi yêu cầu (chữ ký, ảnh, "
                      "kiểm tra giấy tờ, mã nhận hàng hoặc tiền thu hộ), hoặc thiếu ảnh mà lý "
                      "do phát không thành công yêu cầu.",
    "proof-invalid": "Bằng chứng giao không hợp lệ: ảnh hoặc chữ ký không xác định, sai số "
                     "tiền thu hộ (COD), sai mã nhận hàng hoặc sai số giấy tờ.",
    "complaint-not-verified": "Số hiệu bưu gửi và số điện thoại không khớp.",
    "illegal-complaint-transition": "Khiếu nại không thể chuyển sang trạng thái này.",
    "payout-not-verified": "Không ghi nhận được việc chi trả: số giấy tờ không khớp, hoặc "
                           "biên nhận không hợp lệ.",
    "payout-not-open": "Khoản chi trả không còn ở trạng thái cho phép thao tác này.",
    "duplicate-payout": "Mã chi trả đã tồn tại.",
    "duplicate-round": "Bưu cục đã có tuyến phát với mã này.",
    "ward-in-another-round": "Phường/xã đã thuộc một tuyến phát khác của bưu cục: mỗi "
                             "phường/xã chỉ thuộc một tuyến phát.",
    "nothing-to-remit": "Không có tiền thu hộ (COD) nào của người gửi này trong kỳ đã nộp "
                        "về bưu cục mà chưa lên bảng đối soát.",
    "statement-paid": "Bảng đối soát này đã được thanh toán (với mã tham chiếu khác); không "
                      "thanh toán lại hay hủy được.",
    "statement-cancelled": "Bảng đối soát này đã bị hủy; không thanh toán được.",
    "on-cod-statement": "Tiền thu hộ (COD) của bưu gửi này đã lên một bảng đối soát chưa "
                        "hủy: hủy bảng đối soát chưa thanh toán trước khi điều chỉnh; bảng đã "
                        "thanh toán thì đã quyết toán với người gửi.",
    "no-item-code": "Không thấy số hiệu bưu gửi nào trong các mã đọc được.",
    "unread-scan-settled": "Lượt quét này đã được xử lý hoặc bỏ qua.",
    "photo-too-large": "Ảnh vượt quá dung lượng cho phép.",
    "unreadable-image": "Không đọc được ảnh (không phải ảnh, hoặc ảnh bị hỏng).",
    "unsupported-image-format": "Chỉ nhận ảnh JPEG, PNG hoặc WebP.",
    "image-too-large": "Ảnh có quá nhiều điểm ảnh.",
    "rate-limited": "Có quá nhiều yêu cầu loại này; vui lòng thử lại sau ít phút.",
    "too-many-attempts": "Nhập sai mã nhận hàng hoặc số giấy tờ quá nhiều lần cho bưu gửi "
                         "này; vui lòng thử lại sau.",
    "invalid-route-edit": "Không sửa tuyến được: có bưu tá hoặc bưu gửi không thuộc kế hoạch, "
                          "bưu gửi bị xếp hai lần, bưu gửi đang trong túi của bưu tá khác, "
                          "hoặc bưu gửi hẹn phát lại vào ngày sau.",
    "plan-infeasible": "Có tuyến vượt giới hạn (quá tải, giao trễ hoặc quá giờ ca): sửa kế "
                       "hoạch, hoặc xác nhận vẫn công bố.",
    "nothing-to-plan": "Không có bưu gửi nào để lập tuyến: không bưu gửi nào của bưu cục ở "
                       "các trạng thái đã chọn có tọa độ và khung giờ giao trong ngày này.",
    "plan-not-running": "Chỉ hủy được kế hoạch đang chờ hoặc đang tối ưu.",
    "plan-not-ready": "Chỉ công bố được kế hoạch đã tối ưu xong và chưa công bố.",
    "plan-not-editable": "Chỉ sửa được kế hoạch đã tối ưu xong và chưa công bố.",
    "plan-outdated": "Một kế hoạch công bố sau khi lập kế hoạch này đang áp dụng cho một số "
                     "bưu tá của nó; công bố kế hoạch này sẽ xóa các tuyến đó. Hãy lập kế "
                     "hoạch mới.",
    "courier-unavailable": "Kế hoạch giao điểm phát cho bưu tá đã ngừng hoạt động hoặc đã "
                           "chuyển sang bưu cục khác: chuyển các điểm đó cho bưu tá khác, "
                           "hoặc lập kế hoạch mới.",
    "plan-changed": "Kế hoạch đã thay đổi kể từ khi trang hiển thị (ở thẻ khác, hoặc do điều "
                    "phối viên khác); chưa có thay đổi nào được lưu. Xem lại rồi thử lại.",
    "no-route": "Bưu tá chưa có tuyến được công bố cho ngày này.",
    "complaint-changed": "Khiếu nại đã được người khác cập nhật kể từ khi trang hiển thị; "
                         "chưa có thay đổi nào được lưu. Xem lại trạng thái hiện tại rồi gửi "
                         "lại.",
    "complaint-answered-elsewhere": "Khiếu nại do bưu cục mở nó trả lời (đóng, mở lại, sửa "
                                    "câu trả lời): bưu cục của bạn đang giữ bưu gửi, chỉ có "
                                    "thể điều tra và ghi chú khi khiếu nại còn mở. Chưa có "
                                    "thay đổi nào được lưu.",
    "day-over": "Ngày của tuyến đã qua: không tối ưu lại hay công bố kế hoạch của ngày đó "
                "được nữa.",
    "day-not-started": "Chưa đến ngày của tuyến: tuyến sẽ được tối ưu lại vào đúng ngày.",
    "routing-problem-too-large": "Quá nhiều điểm phát hoặc bưu tá cho một lần tối ưu; hãy lập "
                                 "tuyến cho ít bưu gửi hoặc ít bưu tá hơn.",
    "invalid-routing-problem": "Bộ tối ưu tuyến không nhận bài toán này (ví dụ có tuyến không "
                               "tính được).",
    "database-busy": "Cơ sở dữ liệu đang bận; chưa có thay đổi nào được lưu. Vui lòng thử lại "
                     "sau giây lát.",
    "database-unavailable": "Không kết nối được cơ sở dữ liệu; chưa có gì được lưu. Vui lòng "
                            "thử lại sau giây lát.",
    "database-full": "Ổ đĩa của cơ sở dữ liệu đã đầy; chưa có thay đổi nào được lưu. Giữ lại "
                     "dữ liệu và gửi lại sau (bộ phận vận hành đã được báo).",
    "evidence-store-unavailable": "Máy chủ không lưu được ảnh hoặc chữ ký; chưa có gì được "
                                  "ghi nhận. Vui lòng thử lại sau.",
    "evidence-file-missing": "Ảnh hoặc chữ ký đã được ghi nhận nhưng tệp không còn trên máy "
                             "chủ; tải lên lại đúng tệp đó để khôi phục.",
    "job-queue-unavailable": "Hàng đợi tác vụ nền không nhận việc tối ưu; kế hoạch được ghi "
                             "là thất bại. Vui lòng thử lại sau giây lát.",
}

#: What a Vietnamese console page is told of an error the app answers by itself without
#: a problem type of its own (``about:blank``: a URL not found, a wrong method, a body
#: that is not JSON, too large...), by its HTTP status (api/errors.py, ``error_words``);
#: a status not here is told ``HTTP_OTHER``
HTTP_STATUS = {
    400: "Không đọc được yêu cầu (dữ liệu gửi lên sai định dạng); chưa có gì được thực "
         "hiện. Tải lại trang và thử lại.",
    401: "Phiên làm việc đã hết hạn hoặc chưa đăng nhập; vui lòng đăng nhập lại.",
    403: "Bạn không có quyền thực hiện thao tác này.",
    404: "Không có trang này trên bảng điều phối (đường dẫn sai hoặc đã cũ).",
    405: "Địa chỉ này không nhận thao tác này (phương thức HTTP không được hỗ trợ).",
    406: "Máy chủ không trả lời được theo định dạng trình duyệt yêu cầu.",
    408: "Yêu cầu gửi lên quá chậm nên máy chủ đã ngừng chờ; vui lòng thử lại.",
    409: "Không thực hiện được vì trạng thái hiện tại không cho phép. Tải lại trang và thử "
         "lại.",
    411: "Yêu cầu thiếu độ dài dữ liệu gửi lên (Content-Length).",
    413: "Dữ liệu gửi lên vượt quá dung lượng cho phép; chưa có gì được lưu. Hãy gửi tệp "
         "nhỏ hơn.",
    414: "Địa chỉ trang quá dài.",
    415: "Dữ liệu gửi lên không đúng định dạng; chưa có gì được thực hiện. Tải lại trang và "
         "thử lại.",
    422: "Dữ liệu chưa hợp lệ.",
    429: "Có quá nhiều yêu cầu; vui lòng thử lại sau ít phút.",
    431: "Phần đầu của yêu cầu (header, cookie) quá lớn; hãy xóa cookie của trang rồi thử "
         "lại.",
    500: "Đã xảy ra lỗi phía máy chủ; lỗi đã được ghi lại. Vui lòng thử lại sau.",
    501: "Máy chủ chưa hỗ trợ thao tác này.",
    502: "Máy chủ trung gian không nhận được trả lời; vui lòng thử lại sau giây lát.",
    503: "Dịch vụ tạm thời không khả dụng; chưa có gì được lưu. Vui lòng thử lại sau giây "
         "lát.",
    504: "Máy chủ trung gian chờ trả lời quá lâu; vui lòng thử lại sau giây lát.",
}

#: ... a status not in :data:`HTTP_STATUS` (``{status}`` filled in)
HTTP_OTHER = "Không thực hiện được yêu cầu (mã lỗi {status})."

#: The Vietnamese name of a field a refused form names (its key in the form, or the last
#: name of its pointer: ``/beneficiary/id_number``); a field not here is named by its key
FIELD = {
    "courier_id": "Bưu tá",
    "courier_ids": "Bưu tá",
    "date": "Ngày",
    "day": "Ngày",
    "due_date": "Ngày đến hạn",
    "counted_amount": "Số tiền đếm được",
    "amount": "Số tiền",
    "note": "Ghi chú",
    "reference": "Mã tham chiếu",
    "entry_id": "Bút toán số",
    "reason": "Lý do",
    "kind": "Loại yêu cầu",
    "identifier": "Số hiệu bưu gửi",
    "identifiers": "Bưu gửi",
    "category": "Loại khiếu nại",
    "description": "Nội dung",
    "status": "Trạng thái",
    "statuses": "Trạng thái",
    "resolution_note": "Kết quả xử lý",
    "idle_hours": "Tại bưu cục quá (giờ)",
    "out_hours": "Đang phát quá (giờ)",
    "page": "Trang",
    "returns_page": "Trang",
    "refresh": "Thời gian tự tải lại (giây)",
    "overdue": "Chỉ quá hạn",
    "office_id": "Bưu cục",
    "program": "Chế độ",
    "period": "Kỳ",
    "beneficiary": "Người hưởng",
    "name": "Họ tên",
    "phone": "Số điện thoại",
    "address": "Địa chỉ",
    "id_number": "Số CCCD/CMND",
    "time_limit_s": "Thời gian tối ưu (giây)",
    "move_cost_m": "Chi phí chuyển một bưu gửi (m)",
    "warm_start": "Bắt đầu từ các tuyến đang áp dụng",
    "keep_assignments": "Giữ bưu gửi đã giao cho bưu tá",
    "shift_start_s": "Giờ bắt đầu ca",
    "shift_end_s": "Giờ kết thúc ca",
    "routes": "Tuyến",
    "accept_issues": "Chấp nhận vượt giới hạn",
    "base": "Phiên bản kế hoạch",
    "product": "Dịch vụ",
    "sender_phone": "Số điện thoại người gửi",
    "date_from": "Từ ngày",
    "date_to": "Đến ngày",
    "paid_at": "Thời điểm chuyển tiền",
}

#: What a form's field is told on a Vietnamese page, by marshmallow's error key (the
#: key of the field's ``error_messages``: the console loads its forms with these words,
#: api/console/refusals.py). A message may use only the placeholders of the English one.
FIELD_ERROR = {
    "required": "Chưa nhập.",
    "null": "Chưa nhập.",
    "validator_failed": "Giá trị không hợp lệ.",
    "invalid": "Giá trị không hợp lệ.",
    "invalid_utf8": "Không phải văn bản UTF-8 hợp lệ.",
    "invalid_awareness": "Thiếu múi giờ.",
    "too_large": "Số quá lớn.",
    "special": "Phải là một số.",
    "unknown": "Phải là một trong: {choices}.",
    "type": "Sai kiểu dữ liệu.",
    "control": "Không được chứa ký tự điều khiển (có thể đã dán lẫn cùng văn bản).",
}

#: ``invalid`` by the field's type (the first of its classes here)
FIELD_INVALID = {
    "Integer": "Phải là số nguyên (chỉ gồm chữ số, không có dấu chấm hay dấu phẩy).",
    "Number": "Phải là một số.",
    "Date": "Không phải ngày hợp lệ.",
    "DateTime": "Không phải thời điểm hợp lệ.",
    "Boolean": "Phải là có hoặc không.",
    "List": "Phải là một danh sách.",
    "String": "Phải là văn bản.",
}

#: What marshmallow's validators of a field say on a Vietnamese page, each filled in with
#: the validator's bounds (``{min}``, ``{max}``, ``{equal}``, ``{choices}``), and the
#: schemas' checks of their own (a phone number, an ID number: refusals.OWN_CHECKS)
FIELD_CHECK = {
    "length_min": "Cần ít nhất {min} ký tự.",
    "length_max": "Tối đa {max} ký tự.",
    "length_all": "Cần từ {min} đến {max} ký tự.",
    "length_equal": "Cần đúng {equal} ký tự.",
    "items_min": "Cần ít nhất {min} mục.",
    "items_max": "Tối đa {max} mục.",
    "items_all": "Cần từ {min} đến {max} mục.",
    "items_equal": "Cần đúng {equal} mục.",
    "range_min": "Phải từ {min} trở lên.",
    "range_above": "Phải lớn hơn {min}.",
    "range_max": "Tối đa {max}.",
    "range_below": "Phải nhỏ hơn {max}.",
    "range_all": "Phải từ {min} đến {max}.",
    "range_all_below": "Phải từ {min} đến trước {max}.",
    "one_of": "Phải là một trong: {choices}.",
    "regexp": "Sai định dạng.",
    "phone": "Không phải số điện thoại (chữ số, có thể có dấu +, dấu cách, dấu chấm, gạch "
             "ngang).",
    "id_number": "Cần 6-20 chữ cái hoặc chữ số, như trên CCCD/CMND.",
    "identifier": "Số hiệu bưu gửi không hợp lệ: sai chữ số kiểm tra, hoặc không phải mã "
                  "S10 (2 chữ cái, 9 chữ số, 2 chữ cái) hay mã của hãng vận chuyển khác "
                  "(4-40 chữ cái, chữ số, '.', '_' hoặc '-').",
}

#: What a schema's own rules (not a field's) say on a Vietnamese page, by the key of
#: the schema's ``error_messages`` (marshmallow's ``unknown`` and ``type``, and the
#: schemas' own: ``RecipientSchema``, ``WindowSchema``, ``ItemImportRowSchema``)
SCHEMA_ERROR = {
    "unknown": "Trường này không có trong biểu mẫu.",
    "type": "Sai kiểu dữ liệu.",
    "lat_lon_pair": "Cần nhập cả vĩ độ và kinh độ, hoặc bỏ trống cả hai.",
    "lat_lon_zero": "Tọa độ 0, 0 không phải vị trí của người nhận (ô để trống hoặc tra tọa "
                    "độ thất bại): nhập đúng tọa độ, hoặc bỏ trống cả hai.",
    "window_order": "Giờ kết thúc khung giờ giao phải sau giờ bắt đầu.",
    "extra_fields": "Dòng có nhiều ô hơn số cột của dòng tiêu đề.",
}

FLAG = {
    "far_from_address": ("Xa địa chỉ người nhận", "Far from the address"),
    "poor_gps_accuracy": ("GPS kém chính xác", "Poor GPS accuracy"),
    "late_conflict": ("Đồng bộ trễ, xung đột", "Late sync conflict"),
    "late_event": ("Đồng bộ trễ, không áp dụng", "Late sync, not applied"),
    "device_clock_off": ("Đồng hồ thiết bị lệch", "Device clock off"),
    "implausible_device_time": ("Giờ thiết bị bất thường", "Implausible device time"),
    "held_then": ("Bưu tá giữ bưu gửi lúc đó, nay đã giao người khác",
                  "Held by this courier then; reassigned since"),
    "proof_reused": ("Ảnh/chữ ký đã dùng cho lần phát hoặc chi trả khác",
                     "Photo or signature already used for another delivery, attempt or "
                     "payout"),
    "partial_cod_zero": ("Phát một phần nhưng không thu tiền COD cho số kiện đã giao",
                         "Part delivered, but no COD collected for the pieces handed over"),
    "partial_cod_full": ("Phát một phần nhưng thu đủ toàn bộ tiền COD",
                         "Part delivered, but the whole COD collected"),
}

#: what a reused photo or signature was first used for (api/proof/reuse.py), after
#: UI["reused_from"] and before the item number or the payout's reference
CITED_FOR = {
    "delivery": ("việc phát bưu gửi", "the delivery of"),
    "attempt": ("lần phát không thành công bưu gửi", "a failed attempt on"),
    "event": ("một sự kiện của bưu gửi", "an event of"),
    "payout": ("khoản chi trả", "payout"),
}

ASSIGNMENT_HOW = {
    "manual": ("giao tay", "assigned by hand"),
    "route_plan": ("công bố tuyến", "route plan published"),
    "backfill": ("đã giữ khi bắt đầu ghi lịch sử (ít nhất từ lúc này)",
                 "held when the history began (at least since then)"),
}

PLAN_STATUS = {
    "queued": ("Đang chờ", "Queued"),
    "running": ("Đang tối ưu", "Running"),
    "succeeded": ("Hoàn tất, chưa công bố", "Finished, not published"),
    "failed": ("Thất bại", "Failed"),
    "cancelled": ("Đã hủy", "Cancelled"),
    "published": ("Đã công bố", "Published"),
    "superseded": ("Đã thay thế", "Superseded"),
}

#: why a plan left an item out (routing.UnassignedReason and api/route_plans/service.py)
UNPLANNED = {
    "window_before_shifts": ("Khung giờ giao kết thúc trước mọi ca làm việc",
                             "Time window closes before any shift starts"),
    "window_after_shifts": ("Khung giờ giao bắt đầu sau khi mọi ca đã kết thúc",
                            "Time window opens after every shift ends"),
    "demand_exceeds_capacity": ("Vượt sức chở của mọi bưu tá",
                                "More than any courier can carry"),
    "demand_exceeds_capacity_in_time": ("Vượt sức chở của mọi bưu tá kịp phát trong giờ",
                                        "More than any courier who can make it in time "
                                        "can carry"),
    "not_reachable": ("Không đến kịp trong ca làm việc", "Not reachable within a shift"),
    "no_capacity_left": ("Các bưu tá đã hết chỗ chở", "No capacity left"),
    "no_time_left": ("Các ca làm việc đã hết thời gian", "No time left in any shift"),
    "no_coordinates": ("Bưu gửi chưa có tọa độ", "The item has no coordinates"),
    "attempts_used_up": ("Đã hết số lần phát; chờ chuyển hoàn",
                         "Delivery attempts used up; to be returned to the sender"),
    "window_not_on_this_day": ("Khung giờ giao không thuộc ngày này",
                               "Its delivery window is on another day"),
    "left_out_by_dispatcher": ("Điều phối viên đã bỏ khỏi mọi tuyến",
                               "Taken off every route by the dispatcher"),
    "out_with_another_courier": ("Đang được một bưu tá khác đi phát (trong túi của họ)",
                                 "Out for delivery with another courier (in their bag)"),
    "failed_this_day": ("Đã phát không thành công trong ngày; bưu gửi đang ở chỗ bưu tá đã "
                        "phát", "Delivery failed that day; the parcel is with the courier "
                        "who tried"),
    "failed_with_another_courier": ("Phát không thành công, chưa quét nhập lại bưu cục; đang "
                                    "ở chỗ một bưu tá ngoài kế hoạch",
                                    "Delivery failed and never scanned back in: with a "
                                    "courier not in this plan"),
    "failed_since_planned": ("Sau khi lập kế hoạch, bưu gửi đã giao cho một bưu tá khác và "
                             "phát không thành công; chưa quét nhập lại, vẫn ở chỗ bưu tá đó",
                             "After the plan was made it went to another courier and its "
                             "delivery failed; never scanned back in, it is still with them"),
    "next_attempt_later": ("Lần phát lại được hẹn vào một ngày sau (hôm sau lần phát không "
                           "thành công, hoặc ngày người nhận yêu cầu)",
                           "Its next attempt is due on a later day (the day after the failed "
                           "attempt, or the day the recipient asked for)"),
    "awaits_collection": ("Người nhận sẽ đến bưu cục nhận (theo lần phát không thành công "
                          "gần nhất)", "Its recipient will collect it at the office (its "
                          "last failed attempt said so)"),
    "not_collected": ("Người nhận không đến nhận tại bưu cục trong hạn lưu giữ: chờ chuyển "
                      "hoàn cho người gửi", "Its recipient did not collect it at the office "
                      "in time: due back to the sender"),
    "awaits_return": ("Chờ chuyển hoàn (bưu tá đã chọn chuyển hoàn ở lần phát không thành "
                      "công gần nhất)", "Waiting for its return to the sender (chosen at "
                      "its last failed attempt)"),
    "no_longer_to_deliver": ("Không còn cần phát (đã phát, chuyển hoàn…)",
                             "Nothing to deliver any more (delivered, returned…)"),
    "assigned_by_hand": ("Đã được phân công thủ công cho một bưu tá ngoài kế hoạch",
                         "Assigned by hand to a courier not in this plan"),
    "assigned_since_planned": ("Sau khi lập kế hoạch, bưu gửi đã được phân công thủ công cho "
                               "một bưu tá khác", "Assigned by hand to another courier after "
                               "the plan was made"),
}

#: Why a plan failed, by its ``error_code`` (api/route_plans/service.py, ``PLAN_ERRORS``):
#: what a Vietnamese page says of it (an English page, its ``error``); a plan failed
#: before the code was kept is told ``PLAN_ERROR_UNKNOWN``
PLAN_ERROR = {
    "queue_unavailable": "Hàng đợi tác vụ nền không nhận việc tối ưu; hãy lập kế hoạch mới.",
    "worker_stopped": "Tiến trình đang tối ưu kế hoạch này đã dừng trước khi xong; hãy lập "
                      "kế hoạch mới.",
    "job_vanished": "Tác vụ tối ưu của kế hoạch này không còn trong hàng đợi (Redis đã bị "
                    "xóa hoặc mất dữ liệu); hãy lập kế hoạch mới.",
    "no_job_queue": "Tác vụ tối ưu của kế hoạch này nằm trong hàng đợi Redis, nhưng máy chủ "
                    "nay chạy không có hàng đợi (chưa đặt REDIS_URL) nên không chạy hay theo "
                    "dõi được; hãy lập kế hoạch mới.",
    "job_ended": "Tác vụ tối ưu đã kết thúc mà không lập được tuyến (tiến trình RQ có dùng "
                 "đúng cơ sở dữ liệu DATABASE_URL không?); hãy lập kế hoạch mới.",
    "never_queued": "Kế hoạch chưa từng được đưa vào hàng đợi tác vụ; hãy lập kế hoạch mới.",
    "job_not_started": "Tác vụ tối ưu của kế hoạch này đã dừng trước khi bắt đầu; hãy lập kế "
                       "hoạch mới.",
    "job_status": "Tác vụ tối ưu đã dừng trong hàng đợi (bị hủy hoặc gặp lỗi); hãy lập kế "
                  "hoạch mới.",
    "optimisation_failed": "Bộ tối ưu tuyến gặp lỗi khi lập kế hoạch (lỗi đã được ghi lại); "
                           "hãy lập kế hoạch mới.",
}
PLAN_ERROR_UNKNOWN = "Kế hoạch không lập xong; hãy lập kế hoạch mới."

#: what a route of a plan breaks (routing.evaluate.RouteIssueCode; docs/api.md, "Route
#: issues"): templates filled in the browser from the issue's numbers, as text
ROUTE_ISSUE = {
    "over_parcels": ("Quá tải {excess} bưu gửi ({parcels}/{capacity})",
                     "{excess} parcels over capacity ({parcels}/{capacity})"),
    "over_weight": ("Quá tải {excess_kg} kg ({weight_kg}/{capacity_kg} kg)",
                    "{excess_kg} kg over the weight limit ({weight_kg}/{capacity_kg} kg)"),
    "late_stop": ("{identifier} trễ {late_min} phút (giao lúc {eta}, khung giờ đến "
                  "{window_end})", "{identifier} {late_min} min late (served at {eta}, "
                  "window until {window_end})"),
    "shift_overrun": ("Quá giờ ca {late_min} phút (về lúc {end}, hết ca lúc {shift_end})",
                      "{late_min} min past the shift (back at {end}, shift ends at "
                      "{shift_end})"),
}

#: Why an edit of a plan cannot take a route or stop (the ``errors`` of its 422
#: ``invalid-route-edit``, one per mistake), by the mistake's code (its ``reason``,
#: api/route_plans/service.py ``EDIT_MISTAKES``, or the ``reason`` of a plan's own
#: words): what a Vietnamese page says, ``{courier}`` (the courier's name), ``{day}``
#: (dd/mm/yyyy) and ``{reason}`` (why the plan left the item out, :data:`UNPLANNED`)
#: filled in. A test fails when a code the service gives has none.
EDIT_MISTAKE = {
    "not_a_courier_of_plan": "Bưu tá này không có trong kế hoạch.",
    "not_a_stop": "Bưu gửi này không phải điểm phát của kế hoạch.",
    "left_out_when_made": "Bưu gửi này không phải điểm phát của kế hoạch: đã bị loại khi lập "
                          "kế hoạch ({reason}).",
    "named_twice": "Bưu gửi bị xếp hai lần trong các tuyến.",
    "in_bag_out": "Bưu gửi đang được bưu tá {courier} đi phát (trong túi của bưu tá đó): "
                  "không chuyển cho bưu tá khác được.",
    "in_bag_failed": "Bưu gửi đã phát không thành công với bưu tá {courier} và chưa quét "
                     "nhập lại bưu cục (vẫn trong túi của bưu tá đó): không chuyển cho bưu tá "
                     "khác được.",
    "too_many_stops": "Các tuyến có nhiều điểm phát hơn kế hoạch (mỗi bưu gửi chỉ được xếp "
                      "một lần).",
    "not_evaluable": "Bộ tối ưu tuyến không tính được các tuyến này.",
    "failed_this_day": "Bưu gửi đã phát không thành công ngày {day} với bưu tá {courier}, "
                       "vẫn trong túi của bưu tá đó cho đến khi quét nhập lại bưu cục (EDF), "
                       "nên không lập tuyến lại trong ngày. Muốn phát lại ngay trong ngày, "
                       "hãy quét đi phát lại (EDG).",
    "failed_with_another_courier": "Bưu gửi đã phát không thành công với bưu tá {courier} "
                                   "(không có trong kế hoạch) và chưa quét nhập lại bưu cục: "
                                   "vẫn ở chỗ bưu tá đó. Muốn giao cho bưu tá khác, hãy quét "
                                   "nhập lại bưu cục (EDF) hoặc phân công thủ công.",
    "failed_since_planned": "Sau khi lập kế hoạch, bưu gửi đã giao cho bưu tá {courier} và "
                            "phát không thành công; chưa quét nhập lại nên vẫn ở chỗ bưu tá "
                            "đó. Hãy xếp vào tuyến của bưu tá đó hoặc bỏ khỏi mọi tuyến; muốn "
                            "giao cho bưu tá khác, hãy quét nhập lại bưu cục (EDF) hoặc phân "
                            "công thủ công.",
    "assigned_since_planned": "Sau khi lập kế hoạch, bưu gửi đã được phân công thủ công cho "
                              "bưu tá {courier} nên vẫn thuộc bưu tá đó. Hãy xếp vào tuyến "
                              "của bưu tá đó hoặc bỏ khỏi mọi tuyến; muốn giao cho bưu tá "
                              "khác, hãy phân công thủ công.",
    "next_attempt_later": "Lần phát tiếp theo được hẹn vào ngày {day} (hôm sau lần phát "
                          "không thành công, hoặc ngày người nhận yêu cầu): không xếp tuyến "
                          "trước ngày đó. Muốn phát sớm hơn, hãy ghi yêu cầu của người nhận "
                          "(phát lại vào ngày) hoặc quét đi phát lại (EDG).",
    "awaits_collection": "Bưu gửi đang chờ người nhận đến bưu cục nhận (theo lần phát không "
                         "thành công gần nhất, hoặc đang lưu tại bưu cục): không xếp tuyến. "
                         "Muốn phát, hãy ghi yêu cầu của người nhận (phát lại vào ngày) hoặc "
                         "quét đi phát lại (EDG).",
    "awaits_return": "Bưu gửi đang chờ chuyển hoàn cho người gửi (bưu tá đã chọn ở lần phát "
                     "không thành công gần nhất): không xếp tuyến. Muốn phát, hãy ghi yêu cầu "
                     "của người nhận (phát lại vào ngày) hoặc quét đi phát lại (EDG).",
    "not_collected": "Bưu gửi được lưu tại bưu cục chờ người nhận đến hết ngày {day} nhưng "
                     "người nhận không đến nhận: chờ chuyển hoàn cho người gửi, không xếp "
                     "tuyến. Muốn phát, hãy ghi yêu cầu của người nhận (phát lại vào ngày) "
                     "hoặc quét đi phát lại (EDG).",
}

ROLE = {
    "dispatcher": ("Điều phối viên", "Dispatcher"),
    "admin": ("Quản trị", "Admin"),
    "courier": ("Bưu tá", "Courier"),
}

# The public tracking page's complaint form (api/templates/track.html)
PUBLIC_COMPLAINT = {
    "title": ("Gửi khiếu nại", "Make a complaint"),
    "intro": ("Nhập số điện thoại người gửi hoặc người nhận ghi trên bưu gửi.",
              "Give the sender's or recipient's phone number on the item."),
    "phone": ("Số điện thoại", "Phone number"),
    "category": ("Loại khiếu nại", "Category"),
    "description": ("Nội dung", "Description"),
    "send": ("Gửi khiếu nại", "Send"),
    "received": ("Đã tiếp nhận khiếu nại. Mã hồ sơ của bạn:", "Complaint received. "
                 "Your reference:"),
    "answer_by": ("Hạn trả lời", "We answer by"),
    "not_verified": ("Số hiệu bưu gửi và số điện thoại không khớp.",
                     "The item number and phone number do not match our records."),
    "invalid": ("Vui lòng kiểm tra lại số điện thoại và nội dung (ít nhất 5 ký tự).",
                "Check the phone number and the description (at least 5 characters)."),
    "rate_limited": ("Đã có quá nhiều khiếu nại được gửi. Vui lòng thử lại sau.",
                     "Too many complaints have been sent. Please try again later."),
}


def table(t: dict[str, tuple[str, str]], lang: str) -> dict[str, str]:
    """A whole table in one language (for templates and the browser)."""
    return {k: (v[0] if lang == "vi" else v[1]) for k, v in t.items()}
