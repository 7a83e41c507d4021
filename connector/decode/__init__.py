"""Bytes to a record dict: JSON, a JSON envelope to unwrap, or CSV with named typed columns.

Every decoder raises :class:`~connector.errors.RecordRejected` with a reason that says what is
wrong and where (character offset, column name, envelope key) and never anything else.
"""

from __future__ import annotations

from connector.decode.csv import decode_csv
from connector.decode.envelope import unwrap
from connector.decode.json import decode_json
from connector.decode.timestamps import parse_timestamp

__all__ = ["decode_csv", "decode_json", "parse_timestamp", "unwrap"]
