"""Webhook signature and timestamp checks."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from responder.errors import BadSignature, StaleDelivery
from responder.platform.signature import check_timestamp, sign, verify_signature

BODY = b'{"event_type":"conversation_created","event_data":{},"lead":{"id":"1"}}'
OLD, NEW = "old-secret-value", "new-secret-value"
NOW = 1_795_688_100.0


def test_sign_is_lowercase_hex_hmac_sha256_of_the_raw_body() -> None:
    expected = hmac.new(NEW.encode(), BODY, hashlib.sha256).hexdigest()
    assert sign(BODY, NEW) == expected
    assert expected == expected.lower()


def test_good_signature_verifies() -> None:
    verify_signature(BODY, sign(BODY, NEW), [NEW])


def test_prefix_and_upper_case_hex_are_accepted() -> None:
    verify_signature(BODY, "sha256=" + sign(BODY, NEW), [NEW])
    verify_signature(BODY, "SHA256=" + sign(BODY, NEW).upper(), [NEW])
    verify_signature(BODY, "  " + sign(BODY, NEW).upper() + " ", [NEW])


def test_both_secrets_verify_during_rotation() -> None:
    verify_signature(BODY, sign(BODY, OLD), [NEW, OLD])
    verify_signature(BODY, sign(BODY, NEW), [NEW, OLD])


@pytest.mark.parametrize("header", [None, "", "   "])
def test_missing_signature_is_refused(header: str | None) -> None:
    with pytest.raises(BadSignature, match="no signature"):
        verify_signature(BODY, header, [NEW])


def test_wrong_signature_is_refused_and_the_message_names_no_secret() -> None:
    with pytest.raises(BadSignature) as caught:
        verify_signature(BODY, sign(BODY, "someone-else"), [NEW, OLD])
    text = str(caught.value)
    assert NEW not in text and OLD not in text
    assert sign(BODY, NEW) not in text and sign(BODY, OLD) not in text
    assert caught.value.status == 401


def test_signature_of_another_body_is_refused() -> None:
    with pytest.raises(BadSignature):
        verify_signature(BODY + b" ", sign(BODY, NEW), [NEW])


@pytest.mark.parametrize("header", ["not-hex", "sha256=zz" + "0" * 62, "ab" * 20, "é" * 64])
def test_garbage_signature_is_refused(header: str) -> None:
    with pytest.raises(BadSignature, match="not a hex SHA-256"):
        verify_signature(BODY, header, [NEW])


def test_no_configured_secret_verifies_nothing() -> None:
    with pytest.raises(BadSignature, match="No webhook secret"):
        verify_signature(BODY, sign(BODY, ""), ["", ""])


@pytest.mark.parametrize(
    "header", [str(int(NOW)), str(int(NOW * 1000)), f"{NOW - 299:.3f}", str(int(NOW + 299))]
)
def test_timestamp_in_seconds_or_milliseconds_within_tolerance(header: str) -> None:
    check_timestamp(header, now=NOW)


def test_milliseconds_are_told_from_seconds_by_magnitude() -> None:
    # The same instant as ms passes; read as seconds it would be 50,000 years away.
    check_timestamp(str(int((NOW - 10) * 1000)), now=NOW, tolerance=60)
    with pytest.raises(StaleDelivery):
        check_timestamp(str(int((NOW - 120) * 1000)), now=NOW, tolerance=60)


def test_too_old_timestamp_is_refused() -> None:
    with pytest.raises(StaleDelivery, match="301 s old"):
        check_timestamp(str(int(NOW - 301)), now=NOW)


def test_timestamp_too_far_in_the_future_is_refused() -> None:
    with pytest.raises(StaleDelivery, match="in the future"):
        check_timestamp(str(int(NOW + 301)), now=NOW)


@pytest.mark.parametrize("header", [None, "", "yesterday", "2026-11-26T10:15:00Z", "nan", "inf"])
def test_missing_or_garbage_timestamp_is_refused(header: str | None) -> None:
    with pytest.raises(StaleDelivery) as caught:
        check_timestamp(header, now=NOW)
    assert caught.value.status == 401
