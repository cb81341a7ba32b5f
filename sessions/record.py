"""The session record: how a session's data is stored in Redis (msgpack, common fields coded).

Records are msgpack maps. The fields every session carries are stored under small integer
keys, so a logged-in session takes about half the seed's memory; anything that does not
decode as such a map is refused (never unpickled).
"""

from __future__ import annotations

from typing import Any

import msgspec

USER_ID = "userId"  # the logged-in user's id
SNAPSHOT = "u"  # [username, createdAt ms, updatedAt ms]: lets `me` answer without SQL
CREATED_AT = "createdAt"  # seconds since the epoch, stamped when the record is first written
SEEN_AT = "seenAt"  # last activity, kept only when an idle timeout is configured
# Stored names of common fields: a msgpack fixint key is 1 byte where "createdAt" is 10.
# Session keys are always strings, so an integer key cannot collide with one.
FIELD_CODES = {USER_ID: 0, SNAPSHOT: 1, CREATED_AT: 2, SEEN_AT: 3}
FIELD_NAMES = {code: name for name, code in FIELD_CODES.items()}
LEGACY_SID_LENGTH = 43  # ids of the versions that stored field names in full
_decoder = msgspec.msgpack.Decoder(dict[str | int, Any])
_encoder = msgspec.msgpack.Encoder()


def decode_record(raw: bytes) -> dict[str, Any] | None:
    """Decode a stored session record, or None if it is not a msgpack map of known keys."""
    try:
        stored = _decoder.decode(raw)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    data: dict[str, Any] = {}
    for key, value in stored.items():
        name = FIELD_NAMES.get(key) if isinstance(key, int) else key
        if name is None:
            return None  # an integer key this version does not know
        data[name] = value
    return data


def encode_record(data: dict[str, Any], sid: str) -> bytes:
    """Encode session data for storage, common field names as their codes.

    Records under ids issued by earlier versions keep their names in full: during a
    rolling deploy an instance still on such a version may read them, and it deletes a
    record it cannot decode. (It never looks up a new, shorter id: its pattern refuses it.)
    """
    if len(sid) == LEGACY_SID_LENGTH:
        return _encoder.encode(data)
    return _encoder.encode({FIELD_CODES.get(key, key): value for key, value in data.items()})
