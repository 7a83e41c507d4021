"""The orjson fast path of ``decode_json`` accepts exactly what ``json`` accepts, with the
same values (an int stays an int, key order kept), and rejects with ``json``'s words."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from connector.decode.json import decode_json, decode_json_text
from connector.errors import RecordRejected

_SCALARS = (st.none() | st.booleans() | st.text(max_size=8)
            | st.integers(min_value=-(2**70), max_value=2**70)
            | st.floats(allow_nan=False, allow_infinity=False))
_VALUES = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=4)
                       | st.dictionaries(st.text(max_size=6), inner, max_size=4), max_leaves=12)


def _outcome(decode, raw: bytes):
    try:
        return "ok", repr(decode(raw))  # repr: 1 and 1.0 differ, key order counts
    except RecordRejected as exc:
        return "rejected", exc.reason


@settings(max_examples=400, deadline=None)
@given(obj=st.dictionaries(st.text(max_size=6), _VALUES, max_size=5),
       ascii_only=st.booleans(), spaced=st.booleans())
def test_well_formed_objects_decode_exactly_as_json_does(obj, ascii_only, spaced):
    raw = json.dumps(obj, ensure_ascii=ascii_only,
                     separators=(", ", ": ") if spaced else (",", ":")).encode()
    assert _outcome(decode_json, raw) == _outcome(decode_json_text, raw)


@settings(max_examples=400, deadline=None)
@given(obj=st.dictionaries(st.text(max_size=6), _VALUES, max_size=5),
       cut=st.integers(min_value=0, max_value=200), junk=st.binary(max_size=3))
def test_damaged_messages_get_the_same_verdict_and_reason(obj, cut, junk):
    raw = json.dumps(obj).encode()
    damaged = raw[:cut] + junk + raw[cut:]
    assert _outcome(decode_json, damaged) == _outcome(decode_json_text, damaged)


def test_the_cases_where_orjson_differs_from_json_take_json():
    assert decode_json(b'{"n": 123456789012345678901234567890}') == {
        "n": 123456789012345678901234567890}
    assert decode_json(b'{"a": NaN}')["a"] != decode_json(b'{"a": NaN}')["a"]  # json reads NaN
    assert decode_json(b'{"a": 1e400}') == {"a": float("inf")}
    assert decode_json(b'{"a": "\\ud800"}') == {"a": "\ud800"}
    assert decode_json(b'{"a": 1, "a": 2}') == {"a": 2}
