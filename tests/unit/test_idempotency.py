"""send-dm's Idempotency-Key: which keys are taken, and what is kept of a key and a request."""

from __future__ import annotations

import pytest

from service.core.errors import MalformedRequest
from service.dms import idempotency


@pytest.mark.parametrize("key", ["a", "order-1234", "6f1c2a0e-5b7d-4c1e-9f5a-3d2b1c0a9e8f", "a b"])
def test_printable_ascii_keys_are_taken(key):
    assert idempotency.check_key(key) == key


@pytest.mark.parametrize("key", ["", " ", " a", "a ", "a\tb", "a\nb", "é", "k" * 256])
def test_other_keys_are_refused_naming_the_header(key):
    with pytest.raises(MalformedRequest, match="Idempotency-Key"):
        idempotency.check_key(key)


def test_a_key_is_kept_as_its_sha256_only():
    digest = idempotency.key_hash("order-1")
    assert len(digest) == 64 and "order-1" not in digest


def test_the_request_digest_ignores_field_order_and_tells_bodies_apart():
    one = idempotency.request_hash(ig_id="u", message_text="hi", kind="custom")
    assert one == idempotency.request_hash(kind="custom", message_text="hi", ig_id="u")
    assert one != idempotency.request_hash(ig_id="u", message_text="hi!", kind="custom")
    assert one != idempotency.request_hash(ig_id="u", message_text="hi", kind="acknowledgement")
