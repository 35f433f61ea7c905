"""Swagger UI assets served from the installed ``swagger-ui-bundle`` package, so the
API docs page works without internet; and a description of each problem type."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, send_from_directory

from .errors import NotFound

bp = Blueprint("apidocs", __name__)

PROBLEM_TYPES = {
    "bad-request": "The request cannot be read: e.g. NUL characters in the URL, a query "
                   "parameter or a form field, or a scan that is neither JSON nor "
                   "multipart with a photo.",
    "unsupported-media-type": "A JSON endpoint was sent a body that is not "
                              "`Content-Type: application/json` (e.g. `text/plain`, "
                              "what `fetch` sends a string as, a form, or no type "
                              "at all); nothing was done.",
    "conflict": "The request conflicts with the resource's current state.",
    "csrf-failed": "A console request that changes something came without the page's CSRF "
                   "token, or with a wrong or expired one (`X-CSRF-Token`); reload the page "
                   "and try again.",
    "validation-error": "Some fields are invalid; `errors` lists a pointer and a message "
                        "for each.",
    "illegal-transition": "The event cannot follow the item's current status; "
                          "`current_status` and `allowed_events` say what can.",
    "idempotency-key-reused": "The client_event_id was already used for a different event.",
    "not-assigned": "The item must be assigned to a courier first.",
    "duplicate-item": "An item with this identifier exists.",
    "invalid-identifier": "Not a valid S10 number (check digit) nor a carrier code.",
    "invalid-credentials": "Wrong username or password.",
    "unauthorized": "No valid bearer token.",
    "forbidden": "Your role may not do this.",
    "not-found": "No such resource that you can see.",
    "item-not-found": "No item with this number.",
    "item-closed": "The item is delivered or returned.",
    "not-an-outcome": "Only a delivery (EMI) or a failed attempt (EMH) is confirmed or "
                      "disputed: not another event, nor a copy of an outcome recorded "
                      "already that was kept in the history without changing the item.",
    "not-waiting": "A recipient's request applies to an item at the office, held there, or "
                   "back from a failed attempt; `current_status` says where it is.",
    "attempts-used-up": "The item has used up its delivery attempts: it goes back to the "
                        "sender (a new round would be refused); its recipient may still "
                        "collect it at the office until it is returned.",
    "item-reassigned": "A courier's event on an item that was theirs (or that they "
                       "recorded events on) but is no longer assigned to them, and that "
                       "the assignment history does not show them holding at the event's "
                       "time (a dispatcher reassigned it before then, or the device time "
                       "is implausible): nothing was recorded; the phone should keep the "
                       "event and show it to a supervisor.",
    "csv-header": "The CSV header has missing or unknown columns.",
    "csv-malformed": "The file is not valid CSV.",
    "csv-encoding": "The CSV is not UTF-8.",
    "csv-missing": "No CSV was sent.",
    "csv-too-many-rows": "Too many rows in one import.",
    "proof-required": "A delivery lacks the proof its product's policy requires, or a "
                      "failed attempt the photo its reason requires; `errors` lists what "
                      "is missing.",
    "proof-invalid": "The proof of delivery or an event's photo is wrong (unknown evidence "
                     "or a file another user uploaded, COD amount, delivery code or ID "
                     "number); `errors` says which.",
    "complaint-not-verified": "The item number and the phone number do not match.",
    "illegal-complaint-transition": "The complaint cannot move to that status.",
    "payout-not-verified": "The payout's ID check or receipt is not valid (an ID number "
                           "that does not match, unknown evidence or a file another user "
                           "uploaded); `errors` says which.",
    "payout-not-open": "The payout is not in a state that allows this.",
    "duplicate-payout": "A payout with this reference exists.",
    "duplicate-round": "The office has a delivery round with this code (`round_id`).",
    "ward-in-another-round": "A ward belongs to one delivery round of an office at most: "
                             "`errors` names, per ward, the round that covers it.",
    "nothing-to-remit": "No COD of the sender collected in the period, handed in and on no "
                        "statement yet: nothing to draw a statement up for; "
                        "`not_handed_in` lists what waits for its courier's hand-in.",
    "statement-paid": "The COD statement is paid (under another reference): it is neither "
                      "paid again nor cancelled.",
    "statement-cancelled": "The COD statement is cancelled: it is not paid.",
    "on-cod-statement": "The COD entry's item is on a COD statement (`statement_id`): its "
                        "amount is what the sender is (or was) paid, so it is corrected "
                        "only once that statement, not yet paid, is cancelled.",
    "no-item-code": "No item number among the codes read; `codes` and `misreads` say what "
                    "was seen. For a photo that decoded, `photo_kept` says whether it was "
                    "kept for the office as a scan to resolve (`unread_scan_id`, "
                    "`unread_scan_state`; GET /api/v1/unread-scans/{id}); type the number "
                    "or retake the photo and send it again with the same client_event_id.",
    "unread-scan-settled": "The scan to resolve was already resolved or dismissed; `state` "
                           "says which and `scan_id` the scan recorded from it.",
    "evidence-kind-conflict": "The file was already uploaded as the other kind of evidence "
                              "(a photo sent again as a signature, or the reverse); `kind` "
                              "says which it is stored as, and nothing changed. Cite it as "
                              "that kind, or upload the other as a file of its own.",
    "photo-too-large": "The photo is over the size limit (10 MB by default).",
    "unreadable-image": "Not an image, or a truncated or corrupt one.",
    "unsupported-image-format": "Only JPEG, PNG and WebP photos are accepted.",
    "image-too-large": "The image has more pixels than the limit (checked from its header).",
    "rate-limited": "Too many requests of this kind (failed logins, public lookups or "
                    "complaints); `Retry-After` says when to try again.",
    "too-many-attempts": "Too many wrong delivery codes or ID numbers for this item; it "
                         "can be delivered again after `Retry-After` seconds.",
    "invalid-route-edit": "A route plan edit names a courier that is not in the plan, an "
                          "item that is no stop of it or one given twice, puts a parcel "
                          "in a courier's bag on the road (out for delivery, or back from "
                          "a failed attempt that day), or one back from a failed attempt "
                          "with a courier the plan did not pin it to, on another courier's "
                          "route, or puts a parcel whose next attempt is due after the "
                          "plan's day on a route; `errors` has a pointer for each.",
    "plan-infeasible": "Routes of the route plan have issues (a vehicle over capacity, "
                       "stops served after their window, a route past the end of the "
                       "shift); `routes` lists each with its issues. Change the plan, or "
                       "publish with `{\"accept_issues\": true}` to send it out as it is.",
    "nothing-to-plan": "No item to plan: none of the office's items in the chosen statuses "
                       "has coordinates and a delivery window on the plan's day; `notes` "
                       "says why each was left out.",
    "plan-not-running": "Only a queued or running route plan can be cancelled; "
                        "`current_status` says what this one is.",
    "plan-not-ready": "Only a finished (succeeded) route plan can be published; "
                      "`current_status` says what this one is (still running, failed, "
                      "cancelled, already published or superseded).",
    "plan-not-editable": "Only a finished route plan not yet published can be edited; "
                         "`current_status` says what this one is.",
    "plan-outdated": "A route plan published after this one was made routes some of its "
                     "couriers now: publishing this one would undo it (`plan_ids`, "
                     "`courier_ids`); start a new plan.",
    "courier-unavailable": "A courier the route plan gives stops to is no longer an active "
                           "courier of the office (deactivated or moved since the plan was "
                           "made); `courier_ids` lists them. Move their stops (edit the "
                           "plan) or start a new plan.",
    "plan-changed": "The plan changed under the request: the day's plan while the "
                    "courier's route was being re-optimised (a plan published since took "
                    "the route over, or a stop of it was delivered, attempted or "
                    "reassigned meanwhile), or a draft edited in the console since the edit's "
                    "`base` version was shown (another tab or dispatcher); nothing was "
                    "changed: look again and resend.",
    "no-route": "The courier has no published route for that day (no plan made for them "
                "was published, or the plan gave them no stop).",
    "complaint-changed": "The complaint changed since the page it was sent from was shown "
                         "(another member of staff updated it); nothing was changed: "
                         "`current_status` says what it is now. Look again and resend.",
    "complaint-answered-elsewhere": "The complaint is about an item your office holds now "
                                    "(moved to it since the complaint was opened), but it "
                                    "is answered by the office it was opened at "
                                    "(`office_id`: its SLA and quality figures count the "
                                    "answer): you may set it investigating and add notes "
                                    "while it is open; closing it (resolved, rejected), "
                                    "reopening it or changing its answer is that office's "
                                    "or an admin's.",
    "day-over": "The route's day is before today (Viet Nam time): it can no longer be "
                "re-optimised, and its route stays as published; nor can a plan of that "
                "day be published (it would hand over today's parcels).",
    "day-not-started": "The route's day is after today (Viet Nam time): it is re-optimised "
                       "on the day, from where the courier then stands; until then it "
                       "starts at the office as published.",
    "routing-problem-too-large": "Too many stops or couriers for the route optimiser (its "
                                 "distance matrices would exceed the memory budget); plan "
                                 "fewer items or couriers at once.",
    "invalid-routing-problem": "The route optimiser refused the problem as given (e.g. "
                               "routes it cannot evaluate); the detail says why.",
    "database-busy": "The database (SQLite) was busy with other changes for longer than "
                     "its busy timeout, or PostgreSQL rolled the request back to break a "
                     "deadlock, and the request's changes were rolled back. Send it "
                     "again after `Retry-After` seconds.",
    "database-unavailable": "The database cannot be reached (down, restarting, or a "
                            "wrong `DATABASE_URL`); nothing was stored. Try again after "
                            "`Retry-After` seconds.",
    "database-full": "The database's disk is full; nothing was changed. Keep the data "
                     "and send it again after `Retry-After` seconds (the operators are "
                     "alerted by the log).",
    "evidence-store-unavailable": "The server could not write the photo or signature "
                                  "to its evidence store (`POSTAL_PHOTO_DIR`: its disk "
                                  "full, or not writable); nothing was recorded. Send it "
                                  "again after `Retry-After` seconds.",
    "evidence-file-missing": "The photo or signature is recorded but its file is missing "
                             "from the evidence store (`POSTAL_PHOTO_DIR`: a volume not "
                             "mounted, or a database restored without its files); the "
                             "server logs it. Uploading the same file again restores it.",
    "job-queue-unavailable": "The background job queue (Redis) could not take the job; the "
                             "plan (`plan_id`) is recorded as failed. Try again after "
                             "`Retry-After` seconds.",
}


@bp.get("/api/v1/docs/assets/<path:filename>")
def swagger_assets(filename: str) -> Response:
    import swagger_ui_bundle

    resp = send_from_directory(swagger_ui_bundle.swagger_ui_path, filename, max_age=86400)
    return resp


@bp.get("/problems/<slug>")
def problem_type_doc(slug: str) -> tuple[Response, int]:
    if slug not in PROBLEM_TYPES:
        raise NotFound(f"No problem type {slug}.")
    return jsonify(type=f"/problems/{slug}", description=PROBLEM_TYPES[slug]), 200
