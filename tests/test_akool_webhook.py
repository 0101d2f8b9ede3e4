"""Webhook crypto: the test vector of docs/akool-api.md §7.8, tampering, bad input, round trips."""

import base64
import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from generator.akool.webhook import (
    BadSignature,
    DecryptionFailed,
    MalformedWebhook,
    WebhookError,
    build_webhook_body,
    decrypt_payload,
    encrypt_payload,
    signature,
    verify_and_decrypt,
)

# The self-made vector of docs/akool-api.md §7.8 (fake credentials).
CLIENT_ID = "AKexampleClientId0001="
CLIENT_SECRET = "ExampleSecretKey0123456789abcdef"
TIMESTAMP = 1716859400000
NONCE = "4821"
PLAINTEXT = (
    '{"_id":"6650a1b2c3d4e5f6a7b8c9d0","status":3,"type":"image",'
    '"url":"https://example.com/result.png"}'
)
DATA_ENCRYPT = (
    "XZctkTNo8US0DhV+zTcYisNwHsrjAm42vY6nidnFyGcXeuz4QbI6rj3OXqyxNhd33VB7TbLnX0dwes9/8SObkYsL"
    "W+tRiwUtYgJgolkoceJam1PD8jCpbCRh9ge/CwkYNfiCIMOhcqIDQa99dYhqPg=="
)
SIGNATURE = "0661e1901760cf812e1a18bdf87d3ce37ddb0db2"


def vector_body(**changes):
    body = {
        "signature": SIGNATURE,
        "dataEncrypt": DATA_ENCRYPT,
        "timestamp": TIMESTAMP,
        "nonce": NONCE,
    }
    body.update(changes)
    return body


def resigned(body):
    """The body with a signature recomputed over its (possibly tampered) fields."""
    return {
        **body,
        "signature": signature(CLIENT_ID, body["timestamp"], body["nonce"], body["dataEncrypt"]),
    }


# --- the protocol vector -------------------------------------------------------------------


def test_protocol_vector_verifies_and_decrypts_to_the_exact_plaintext():
    payload = verify_and_decrypt(vector_body(), CLIENT_ID, CLIENT_SECRET)

    assert payload == json.loads(PLAINTEXT)
    assert json.dumps(payload, separators=(",", ":")) == PLAINTEXT


def test_encrypting_the_vector_plaintext_gives_the_exact_data_encrypt():
    assert encrypt_payload(json.loads(PLAINTEXT), CLIENT_ID, CLIENT_SECRET) == DATA_ENCRYPT


def test_signature_of_the_vector_matches():
    assert signature(CLIENT_ID, TIMESTAMP, NONCE, DATA_ENCRYPT) == SIGNATURE


def test_signature_stringifies_numbers_so_int_and_str_nonce_agree():
    assert signature(CLIENT_ID, TIMESTAMP, 4821, DATA_ENCRYPT) == SIGNATURE
    assert signature(CLIENT_ID, str(TIMESTAMP), NONCE, DATA_ENCRYPT) == SIGNATURE


def test_decrypt_payload_of_the_vector_gives_the_plaintext_object():
    assert decrypt_payload(DATA_ENCRYPT, CLIENT_ID, CLIENT_SECRET) == json.loads(PLAINTEXT)


@pytest.mark.parametrize("nonce", ["4821", 4821], ids=["str", "int"])
def test_nonce_as_string_or_number_both_verify(nonce):
    payload = verify_and_decrypt(vector_body(nonce=nonce), CLIENT_ID, CLIENT_SECRET)

    assert payload["_id"] == "6650a1b2c3d4e5f6a7b8c9d0"


@pytest.mark.parametrize(
    "body",
    [
        json.dumps(vector_body()),
        json.dumps(vector_body()).encode(),
        vector_body(),
    ],
    ids=["str", "bytes", "dict"],
)
def test_body_may_be_bytes_text_or_a_parsed_dict(body):
    assert verify_and_decrypt(body, CLIENT_ID, CLIENT_SECRET)["status"] == 3


def test_uppercase_hex_signature_is_accepted():
    body = vector_body(signature=SIGNATURE.upper())

    assert verify_and_decrypt(body, CLIENT_ID, CLIENT_SECRET)["status"] == 3


# --- tampering -----------------------------------------------------------------------------


def test_a_tampered_signature_is_rejected():
    body = vector_body(signature="0" * 40)

    with pytest.raises(BadSignature):
        verify_and_decrypt(body, CLIENT_ID, CLIENT_SECRET)


@pytest.mark.parametrize("field", ["timestamp", "nonce"])
def test_a_changed_timestamp_or_nonce_breaks_the_signature(field):
    body = vector_body(**{field: 1234})

    with pytest.raises(BadSignature):
        verify_and_decrypt(body, CLIENT_ID, CLIENT_SECRET)


def _flip_a_ciphertext_byte(data_encrypt):
    raw = bytearray(base64.b64decode(data_encrypt))
    raw[-1] ^= 0x01  # last block: breaks the PKCS#7 padding
    return base64.b64encode(bytes(raw)).decode()


def test_tampered_ciphertext_fails_the_signature_because_it_covers_data_encrypt():
    body = vector_body(dataEncrypt=_flip_a_ciphertext_byte(DATA_ENCRYPT))

    with pytest.raises(BadSignature):
        verify_and_decrypt(body, CLIENT_ID, CLIENT_SECRET)


def test_tampered_ciphertext_with_a_recomputed_signature_fails_decryption():
    body = resigned(vector_body(dataEncrypt=_flip_a_ciphertext_byte(DATA_ENCRYPT)))

    with pytest.raises(DecryptionFailed):
        verify_and_decrypt(body, CLIENT_ID, CLIENT_SECRET)


def test_the_wrong_secret_fails_decryption():
    with pytest.raises(DecryptionFailed):
        verify_and_decrypt(vector_body(), CLIENT_ID, "WrongSecretKey0123456789abcdefXY")


def test_a_secret_of_invalid_length_fails_decryption_with_a_clear_message():
    with pytest.raises(DecryptionFailed, match="16, 24 or 32 bytes"):
        verify_and_decrypt(vector_body(), CLIENT_ID, "too-short")


def test_encrypting_with_a_secret_of_invalid_length_is_a_value_error():
    with pytest.raises(ValueError, match="16, 24 or 32 bytes"):
        encrypt_payload({"_id": "x", "status": 3}, CLIENT_ID, "too-short")


@pytest.mark.parametrize(
    "data_encrypt",
    ["not base64 at all!", base64.b64encode(b"short").decode(), ""],
    ids=["not-base64", "not-whole-blocks", "empty"],
)
def test_a_signed_but_undecodable_data_encrypt_fails_decryption(data_encrypt):
    body = resigned(vector_body(dataEncrypt=data_encrypt))

    with pytest.raises(DecryptionFailed):
        verify_and_decrypt(body, CLIENT_ID, CLIENT_SECRET)


# --- malformed bodies and payloads ---------------------------------------------------------


@pytest.mark.parametrize("missing", ["signature", "dataEncrypt", "timestamp", "nonce"])
def test_a_missing_field_is_malformed(missing):
    body = vector_body()
    del body[missing]

    with pytest.raises(MalformedWebhook, match=missing):
        verify_and_decrypt(body, CLIENT_ID, CLIENT_SECRET)


@pytest.mark.parametrize(
    "body",
    [b"\xff\xfe not utf-8", "not json", "[1, 2, 3]", "null", b"", "{"],
    ids=["not-utf8", "not-json", "array", "null", "empty", "truncated"],
)
def test_a_body_that_is_not_a_json_object_is_malformed(body):
    with pytest.raises(MalformedWebhook):
        verify_and_decrypt(body, CLIENT_ID, CLIENT_SECRET)


@pytest.mark.parametrize(
    "changes",
    [
        {"signature": 123},
        {"signature": None},
        {"signature": "é" * 40},
        {"dataEncrypt": ["a"]},
        {"dataEncrypt": "ünïcode"},
        {"timestamp": True},
        {"timestamp": None},
        {"timestamp": 1.5},
        {"timestamp": -1},
        {"timestamp": 10**5000},  # beyond Python's int->str digit limit
        {"nonce": None},
        {"nonce": False},
        {"nonce": {"n": 1}},
        {"nonce": ""},
    ],
    ids=lambda changes: "-".join(f"{k}-{type(v).__name__}" for k, v in changes.items()),
)
def test_fields_of_the_wrong_type_are_malformed(changes):
    with pytest.raises(MalformedWebhook):
        verify_and_decrypt(vector_body(**changes), CLIENT_ID, CLIENT_SECRET)


@pytest.mark.parametrize(
    "payload",
    [
        {"status": 3, "type": "image"},
        {"_id": 12, "status": 3},
        {"_id": "", "status": 3},
        {"_id": "6650a1b2c3d4e5f6a7b8c9d0"},
        {"_id": "6650a1b2c3d4e5f6a7b8c9d0", "status": "3"},
        {"_id": "6650a1b2c3d4e5f6a7b8c9d0", "status": True},
    ],
    ids=repr,
)
def test_a_decrypted_payload_without_string_id_and_int_status_is_malformed(payload):
    body = build_webhook_body(payload, CLIENT_ID, CLIENT_SECRET)

    with pytest.raises(MalformedWebhook):
        verify_and_decrypt(body, CLIENT_ID, CLIENT_SECRET)


def test_a_decrypted_payload_that_is_not_an_object_is_malformed():
    data_encrypt = encrypt_payload([1, 2], CLIENT_ID, CLIENT_SECRET)  # type: ignore[arg-type]
    body = resigned(vector_body(dataEncrypt=data_encrypt))

    with pytest.raises(MalformedWebhook):
        verify_and_decrypt(body, CLIENT_ID, CLIENT_SECRET)


def test_every_webhook_error_is_a_value_error():
    for cls in (MalformedWebhook, BadSignature, DecryptionFailed):
        assert issubclass(cls, WebhookError)
    assert issubclass(WebhookError, ValueError)


# --- building bodies -----------------------------------------------------------------------


def test_build_webhook_body_round_trips_through_verify_and_decrypt():
    payload = {"_id": "6650a1b2c3d4e5f6a7b8c9d0", "status": 2, "type": "image", "url": ""}

    body = build_webhook_body(payload, CLIENT_ID, CLIENT_SECRET)

    assert set(body) == {"signature", "dataEncrypt", "timestamp", "nonce"}
    assert isinstance(body["timestamp"], int) and len(str(body["timestamp"])) == 13
    assert isinstance(body["nonce"], str) and body["nonce"].isdigit()
    assert verify_and_decrypt(json.dumps(body), CLIENT_ID, CLIENT_SECRET) == payload


def test_build_webhook_body_with_the_vector_inputs_reproduces_the_vector():
    body = build_webhook_body(
        json.loads(PLAINTEXT), CLIENT_ID, CLIENT_SECRET, timestamp=TIMESTAMP, nonce=NONCE
    )

    assert body == vector_body()


@pytest.mark.parametrize("secret", ["0123456789abcdef", "0123456789abcdef01234567"])
def test_aes_128_and_192_keys_also_round_trip(secret):
    payload = {"_id": "abc", "status": 4}

    body = build_webhook_body(payload, CLIENT_ID, secret)

    assert verify_and_decrypt(body, CLIENT_ID, secret) == payload


def test_a_client_id_shorter_than_16_bytes_is_padded_and_round_trips():
    payload = {"_id": "abc", "status": 3}

    body = build_webhook_body(payload, "short", CLIENT_SECRET)

    assert verify_and_decrypt(body, "short", CLIENT_SECRET) == payload


# --- properties ----------------------------------------------------------------------------

# Lone surrogates cannot be encoded as UTF-8, so JSON text never carries them.
text = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=200)


@given(
    job_id=text.filter(bool),
    status=st.integers(min_value=-(2**53), max_value=2**53),
    url=text,
    kind=text,
    timestamp=st.integers(min_value=0, max_value=10**15),
    nonce=st.one_of(
        st.integers(min_value=0, max_value=10**9), st.from_regex(r"[0-9]{1,8}", fullmatch=True)
    ),
)
def test_any_payload_round_trips_through_build_and_verify(
    job_id, status, url, kind, timestamp, nonce
):
    payload = {"_id": job_id, "status": status, "type": kind, "url": url}

    body = build_webhook_body(payload, CLIENT_ID, CLIENT_SECRET, timestamp=timestamp, nonce=nonce)

    assert verify_and_decrypt(json.dumps(body), CLIENT_ID, CLIENT_SECRET) == payload


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
field_values = st.one_of(
    json_values,
    st.just(SIGNATURE),
    st.just(DATA_ENCRYPT),
    st.just(TIMESTAMP),
    st.just(NONCE),
    st.binary(max_size=64).map(lambda b: base64.b64encode(b).decode()),
)
junk_bodies = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=300),
    json_values,
    st.fixed_dictionaries(
        {},
        optional={
            "signature": field_values,
            "dataEncrypt": field_values,
            "timestamp": field_values,
            "nonce": field_values,
        },
    ),
    json_values.map(json.dumps),
)


@given(body=junk_bodies)
def test_junk_bodies_only_ever_raise_webhook_error(body):
    with contextlib.suppress(WebhookError):
        verify_and_decrypt(body, CLIENT_ID, CLIENT_SECRET)


@given(
    data_encrypt=st.binary(max_size=200).map(lambda b: base64.b64encode(b).decode()),
    timestamp=st.integers(min_value=0, max_value=10**15),
)
def test_signed_junk_ciphertext_only_ever_raises_webhook_error(data_encrypt, timestamp):
    body = resigned(vector_body(dataEncrypt=data_encrypt, timestamp=timestamp))
    with contextlib.suppress(WebhookError):
        verify_and_decrypt(body, CLIENT_ID, CLIENT_SECRET)
