"""Agent PINs: only salted scrypt hashes are stored, and a PIN verifies against its hash."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callcenter.config.pins import PinError, hash_pin, is_pin_hash, parse_pin_hash, verify_pin


def test_hash_has_the_documented_shape() -> None:
    text = hash_pin("4711", salt=b"0123456789abcdef")
    algorithm, n, r, p, salt, digest = text.split("$")
    assert (algorithm, n, r, p, salt) == ("scrypt", "16384", "8", "1", "MDEyMzQ1Njc4OWFiY2RlZg==")
    assert len(parse_pin_hash(text).digest) == 32
    assert digest == str(parse_pin_hash(text)).split("$")[-1]


def test_same_pin_hashes_differently_each_time() -> None:
    assert hash_pin("4711") != hash_pin("4711")


@settings(max_examples=5, deadline=None)  # scrypt is slow on purpose
@given(st.from_regex(r"[0-9]{4,12}", fullmatch=True))
def test_a_pin_verifies_against_its_own_hash_only(pin: str) -> None:
    stored = hash_pin(pin)
    assert verify_pin(stored, pin)
    assert not verify_pin(stored, pin + "0")


@pytest.mark.parametrize("pin", ["", "123", "1234567890123", "12a4", "１２３４"])
def test_pins_that_cannot_be_keyed_in_are_refused(pin: str) -> None:
    with pytest.raises(PinError):
        hash_pin(pin)


@pytest.mark.parametrize(
    "text",
    [
        "1234",
        "scrypt$16384$8$1$c2FsdA==",  # too few parts
        "bcrypt$16384$8$1$MDEyMzQ1Njc4OWFiY2RlZg==$MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
        "scrypt$1000$8$1$MDEyMzQ1Njc4OWFiY2RlZg==$MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
        # n = 2**20 with r = 8 would need a gigabyte per verification
        "scrypt$1048576$8$1$MDEyMzQ1Njc4OWFiY2RlZg==$MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
        "scrypt$16384$8$1$not base64!$MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
    ],
)
def test_malformed_or_dangerous_hashes_never_verify(text: str) -> None:
    assert not is_pin_hash(text)
    assert not verify_pin(text, "1234")
