"""Agent PINs, kept in the configuration only as salted scrypt hashes.

The files are read by many people and land in version control, so a PIN never appears
in clear: ``callcenter config hash-pin`` prints ``scrypt$n$r$p$salt$hash`` (salt and hash
in base64) and the admin pastes that under the agent's ``pin:``. scrypt is memory-hard,
which makes guessing a short numeric PIN from a leaked file slow; the cost parameters
travel with each hash so they can be raised later without invalidating old ones.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

# 16 MiB of memory and ~50 ms per hash at these settings (RFC 7914's interactive example).
N, R, P = 2**14, 8, 1
SALT_BYTES = 16
HASH_BYTES = 32
# Refuse parameters that would let a config file make verification eat the machine.
_MAX_MEMORY = 64 * 1024 * 1024
PIN_PATTERN = re.compile(r"[0-9]{4,12}")
PIN_RULE = "a PIN is 4 to 12 digits, so it can be keyed in on a phone"


class PinError(ValueError):
    """A PIN or PIN hash that cannot be used."""


@dataclass(frozen=True, slots=True)
class PinHash:
    n: int
    r: int
    p: int
    salt: bytes
    digest: bytes

    def __str__(self) -> str:
        salt, digest = (base64.b64encode(part).decode("ascii") for part in (self.salt, self.digest))
        return f"scrypt${self.n}${self.r}${self.p}${salt}${digest}"


def parse_pin_hash(text: str) -> PinHash:
    """Read ``scrypt$n$r$p$salt_b64$hash_b64``; raise PinError saying what is wrong."""
    parts = text.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        raise PinError("expected scrypt$n$r$p$salt$hash")
    try:
        n, r, p = (int(part) for part in parts[1:4])
        salt, digest = (base64.b64decode(part, validate=True) for part in parts[4:6])
    except (ValueError, binascii.Error) as exc:
        raise PinError("expected scrypt$n$r$p$salt$hash with numbers and base64") from exc
    if n < 2 or n & (n - 1) or r < 1 or p < 1 or 128 * r * (n + p) > _MAX_MEMORY:
        raise PinError("scrypt parameters out of range")
    if len(salt) < 8 or len(digest) < 16:
        raise PinError("salt or hash too short")
    return PinHash(n, r, p, salt, digest)


def is_pin_hash(text: str) -> bool:
    try:
        parse_pin_hash(text)
    except PinError:
        return False
    return True


def _derive(pin: str, n: int, r: int, p: int, salt: bytes, length: int) -> bytes:
    return hashlib.scrypt(
        pin.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=length, maxmem=2 * _MAX_MEMORY
    )


def hash_pin(pin: str, *, salt: bytes | None = None) -> str:
    """The text to store under an agent's ``pin:``; a fresh random salt unless one is given."""
    if not PIN_PATTERN.fullmatch(pin):
        raise PinError(PIN_RULE)
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    return str(PinHash(N, R, P, salt, _derive(pin, N, R, P, salt, HASH_BYTES)))


def verify_pin(pin_hash: str, pin: str) -> bool:
    """Whether ``pin`` is the PIN ``pin_hash`` was made from (constant-time comparison)."""
    try:
        stored = parse_pin_hash(pin_hash)
    except PinError:
        return False
    candidate = _derive(pin, stored.n, stored.r, stored.p, stored.salt, len(stored.digest))
    return hmac.compare_digest(candidate, stored.digest)
