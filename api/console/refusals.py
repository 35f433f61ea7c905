"""What a refused console form or request is told, in the page's language.

The services refuse in English (RFC 9457 problem details: ``Problem.detail``, and
marshmallow's messages for the fields of a form). On a Vietnamese page the console says
it in Vietnamese, by stable codes, never by matching the English words: a problem by
its type (``Problem.slug``: :data:`labels.PROBLEM`, a type not there told in the
service's words), a form's fields by their names (:data:`labels.FIELD`) and their
messages by marshmallow's error keys and validators, the form's schema loaded with
Vietnamese messages (:func:`localized`; of the schemas' checks of their own, those in
:data:`OWN_CHECKS`: any other, a schema-level rule, an import's rows, stay the
service's). An English page is told the service's words.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any, TypeVar

from marshmallow import Schema, ValidationError, fields, validate

from ..errors import Problem
from ..items.schemas import _identifier, valid_id_number, valid_phone
from . import labels

S = TypeVar("S", bound=Schema)

#: The schemas' checks of their own with Vietnamese words (:data:`labels.FIELD_CHECK`),
#: by the check itself
OWN_CHECKS: dict[Any, str] = {valid_phone: "phone", valid_id_number: "id_number",
                               _identifier: "identifier"}


def refusal(exc: ValidationError | Problem, lang: str) -> str:
    """What a refused form is told: each field's messages (a form's fields refused by
    its schema), or the problem's words."""
    if isinstance(exc, ValidationError):
        return fields_text(exc.normalized_messages(), lang)
    return problem_text(exc, lang)


def problem_text(exc: Problem, lang: str) -> str:
    """The problem in ``lang``: in Vietnamese, the words of its type, and for fields
    refused by the service (``validation-error``, ``errors`` pointing at them) which
    ones; the service's ``detail`` in English, or for a type without Vietnamese words."""
    said = labels.PROBLEM.get(exc.slug) if lang == "vi" else None
    if said is None:
        return exc.detail
    if exc.slug == "validation-error":
        names = list(dict.fromkeys(
            field_name(e.get("pointer") or e.get("parameter") or "")
            for e in exc.extensions.get("errors") or [] if isinstance(e, Mapping)))
        if names := [n for n in names if n]:
            said = f"{said} {labels.label(labels.UI, 'check_fields', lang)}: {', '.join(names)}."
    return said


def app_error_text(status: int, slug: str | None) -> str:
    """The Vietnamese words of an error the app answers by itself (api/errors.py): by
    its problem type (:data:`labels.PROBLEM`), else, for a type without them or none
    (``about:blank``), by its status (:data:`labels.HTTP_STATUS`)."""
    said = labels.PROBLEM.get(slug) if slug else None
    return said or labels.HTTP_STATUS.get(status) or labels.HTTP_OTHER.format(status=status)


def reason_text(reason: Mapping[str, Any], courier_name: Callable[[int], str]
                ) -> str | None:
    """The Vietnamese words of an edit's mistake by its reason (``Problem.reasons``:
    ``code`` and values, :data:`labels.EDIT_MISTAKE`), the courier named
    (``courier_name``), a day as dd/mm/yyyy, why an item was left out by
    :data:`labels.UNPLANNED`; None for a code without words."""
    said = labels.EDIT_MISTAKE.get(str(reason.get("code")))
    if said is None:
        return None
    courier, day, why = reason.get("courier"), reason.get("day"), reason.get("reason")
    return said.format(
        courier=courier_name(courier) if isinstance(courier, int) else "",
        day=_shown(day) if isinstance(day, date) else "",
        reason=_lower_first(labels.label(labels.UNPLANNED, str(why), "vi") or "") if why
        else "")


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def fields_text(messages: Any, lang: str) -> str:
    """A form's fields and their messages (marshmallow's, nested: ``beneficiary/name``),
    each named in ``lang``; in Vietnamese after the words of ``validation-error``."""
    if lang != "vi":
        return "; ".join(f"{path}: {' '.join(msgs)}" if path else " ".join(msgs)
                         for path, msgs in _flat(messages))
    said = "; ".join(f"{field_name(path)}: {' '.join(msgs)}" if path else " ".join(msgs)
                     for path, msgs in ((p, [m.rstrip(".") for m in ms])
                                        for p, ms in _flat(messages)))
    return f"{labels.PROBLEM['validation-error']} {said}."


def field_name(path: str) -> str:
    """A field's Vietnamese name, from its key or pointer (the last name in it:
    ``/routes/0/identifiers`` is ``identifiers``); a field without one, its key."""
    names = [p for p in path.split("/") if p and not p.isdigit() and p != "_schema"]
    return labels.FIELD.get(names[-1], names[-1]) if names else ""


def _flat(messages: Any, path: str = "") -> list[tuple[str, list[str]]]:
    if isinstance(messages, Mapping):
        return [pair for key, value in messages.items()
                for pair in _flat(value, path if key == "_schema" else
                                  f"{path}/{key}" if path else str(key))]
    if isinstance(messages, list | tuple) and not all(isinstance(m, str) for m in messages):
        return [pair for m in messages for pair in _flat(m, path)]
    return [(path, [str(m) for m in messages] if isinstance(messages, list | tuple)
             else [str(messages)])]


# ------------------------------------------------------------------ forms' schemas

def localized(schema: S) -> S:
    """``schema`` (an instance made for one load) telling its fields' errors in
    Vietnamese: each field's messages by marshmallow's key (:data:`labels.FIELD_ERROR`,
    ``invalid`` by the field's type), its length, range and choice checks with their
    bounds (:data:`labels.FIELD_CHECK`), and its own rules' by their keys in its
    ``error_messages`` (:data:`labels.SCHEMA_ERROR`). Only the instance's own copies of
    its fields and messages are changed, never the schema's class."""
    schema.error_messages = {key: labels.SCHEMA_ERROR.get(key, text)
                             for key, text in schema.error_messages.items()}
    for field in schema.fields.values():
        _localize(field)
    return schema


def _localize(field: fields.Field[Any]) -> None:
    field.error_messages = {key: message(type(field), key, text)
                            for key, text in field.error_messages.items()}
    field.validators = [_check(field, v) for v in field.validators]
    if isinstance(field, fields.List):
        field.inner = copy.copy(field.inner)  # (shared with the class's field)
        _localize(field.inner)
    elif isinstance(field, fields.Nested) and isinstance(field.nested, type):
        # a nested schema of its own, not the one the class's field may have built
        field._schema = None
        localized(field.schema)


def message(kind: type[Any], key: str, text: Any) -> Any:
    """The Vietnamese words of a field of class ``kind`` for its error ``key`` (``text``,
    its English words, for a key without them)."""
    if key == "invalid":
        for cls in kind.__mro__:
            if cls.__name__ in labels.FIELD_INVALID:
                return labels.FIELD_INVALID[cls.__name__]
    return labels.FIELD_ERROR.get(key, text)


def _check(field: fields.Field[Any], check: Any) -> Any:
    """A copy of ``check`` with its message in Vietnamese, its bounds in it; a check of
    the schema's own (a function) in :data:`OWN_CHECKS` wrapped to say its words, any
    other as it is (its own words)."""
    words = labels.FIELD_CHECK
    if isinstance(check, validate.Length):
        unit = "items" if isinstance(field, fields.List) else "length"
        if check.equal is not None:
            said = words[f"{unit}_equal"]
        elif check.max is None:
            said = words[f"{unit}_min"]
        else:  # (a Text's own check is from 0: "at most")
            said = words[f"{unit}_all" if check.min else f"{unit}_max"]
        return _with_error(check, said.format(min=_shown(check.min), max=_shown(check.max),
                                              equal=_shown(check.equal)))
    if isinstance(check, validate.Range):
        if check.min is None:
            said = words["range_max" if check.max_inclusive else "range_below"]
        elif check.max is None:
            said = words["range_min" if check.min_inclusive else "range_above"]
        else:
            said = words["range_all" if check.max_inclusive else "range_all_below"]
        return _with_error(check, said.format(min=_shown(check.min), max=_shown(check.max)))
    if isinstance(check, validate.OneOf):
        return _with_error(check, words["one_of"].replace("{choices}", check.choices_text))
    if isinstance(check, validate.Regexp):
        return _with_error(check, words["regexp"])
    if check in OWN_CHECKS:
        return _worded(check, words[OWN_CHECKS[check]])
    return check


def _with_error(check: Any, said: str) -> Any:
    out = copy.copy(check)
    out.error = said.replace("{", "{{").replace("}", "}}")  # (marshmallow formats it)
    return out


def _worded(check: Callable[[Any], Any], said: str) -> Callable[[Any], Any]:
    def run(value: Any) -> Any:
        try:
            return check(value)
        except ValidationError:
            raise ValidationError(said) from None

    return run


def _shown(value: Any) -> str:
    """A bound as a Vietnamese page writes it: 50.000.000, 20/11/2026."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return f"{value:,}".replace(",", ".")
    if isinstance(value, float):
        return f"{value:g}".replace(".", ",")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    return str(value)
