"""Akool webhook crypto (docs/akool-api.md §7): signature, AES-CBC payload encryption, verification.

Used by the webhook view (receiver) and by the sandbox emulator (sender), so both sides
share one implementation of the quirks:

- The signature is SHA-1 over the *sorted* string parts, with no key (§7.3). Anyone who
  knows the clientId can forge it; authenticity really rests on the AES key (= API key).
- Numbers (timestamp, nonce) are stringified in decimal before sorting, as JavaScript's
  `Array.sort().join('')` does; the docs' Python sample would crash on ints.
- Key = UTF-8 bytes of the client secret, its length (16/24/32) picks AES-128/192/256;
  real secrets are 32 chars, so AES-256 in practice despite the docs saying 24 (§7.4).
- IV = first 16 bytes of the UTF-8 clientId; shorter ids are padded with NUL as the docs'
  Python sample does (the demo pads with spaces; real ids are >= 16 chars anyway).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from typing import Any

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

REQUIRED_FIELDS = ("signature", "dataEncrypt", "timestamp", "nonce")

# Bounds far beyond real values (13-digit ms timestamps, short nonces) that keep junk
# input away from Python's int/str conversion limits.
_MAX_NUMBER = 10**18
_MAX_TEXT = 1_000_000


class WebhookError(ValueError):
    """A webhook body that must be rejected (answer non-200)."""


class MalformedWebhook(WebhookError):
    """Not JSON, missing fields, wrong types, or a decrypted payload of the wrong shape."""


class BadSignature(WebhookError):
    """The signature does not match the body."""


class DecryptionFailed(WebhookError):
    """The signature matched but `dataEncrypt` does not decrypt with our key."""


def _decimal(value: Any) -> str:
    if isinstance(value, bool):
        raise TypeError("a boolean is not a timestamp or nonce")
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # JS prints 1710757981609.0 as "1710757981609"
    return str(value)


def signature(client_id: str, timestamp, nonce, data_encrypt: str) -> str:
    parts = [client_id, _decimal(timestamp), _decimal(nonce), data_encrypt]
    # JavaScript sorts strings by UTF-16 code unit; UTF-16-BE bytes compare the same way.
    # (Identical to Python's order for the ASCII values Akool actually sends.)
    parts.sort(key=lambda part: part.encode("utf-16-be", "surrogatepass"))
    joined = "".join(parts).encode("utf-8")
    return hashlib.sha1(joined, usedforsecurity=False).hexdigest()


def _key(client_secret: str) -> bytes:
    key = client_secret.encode("utf-8")
    if len(key) not in (16, 24, 32):
        raise ValueError(
            f"The Akool client secret must be 16, 24 or 32 bytes for AES; it is {len(key)}."
        )
    return key


def _iv(client_id: str) -> bytes:
    return client_id.encode("utf-8")[:16].ljust(16, b"\0")


def encrypt_payload(payload: dict, client_id: str, client_secret: str) -> str:
    # Compact separators and raw UTF-8 match JavaScript's JSON.stringify.
    plaintext = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext) + padder.finalize()
    encryptor = Cipher(algorithms.AES(_key(client_secret)), modes.CBC(_iv(client_id))).encryptor()
    ciphertext = encryptor.update(padded) + encryptor.finalize()
    return base64.b64encode(ciphertext).decode("ascii")


def decrypt_payload(data_encrypt: str, client_id: str, client_secret: str) -> dict:
    try:
        key = _key(client_secret)
    except ValueError as exc:
        raise DecryptionFailed(str(exc)) from None
    try:
        ciphertext = base64.b64decode(data_encrypt, validate=True)
    except (binascii.Error, ValueError):
        raise DecryptionFailed("dataEncrypt is not valid base64.") from None
    if not ciphertext or len(ciphertext) % 16:
        raise DecryptionFailed("dataEncrypt is not a whole number of AES blocks.")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(_iv(client_id))).decryptor()
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    try:
        unpadder = padding.PKCS7(128).unpadder()
        plaintext = unpadder.update(padded) + unpadder.finalize()
        payload = json.loads(plaintext.decode("utf-8"))
    except (ValueError, RecursionError):
        # Bad padding / bad UTF-8 / not JSON: almost always the wrong key.
        raise DecryptionFailed(
            "dataEncrypt does not decrypt with this client secret and client id."
        ) from None
    if not isinstance(payload, dict):
        raise MalformedWebhook("The decrypted webhook payload is not a JSON object.")
    return payload


def build_webhook_body(
    payload: dict,
    client_id: str,
    client_secret: str,
    *,
    timestamp: int | None = None,
    nonce: str | None = None,
) -> dict:
    """What Akool (or the sandbox) POSTs as JSON to a webhook URL (§7.2)."""
    if timestamp is None:
        timestamp = int(time.time() * 1000)
    if nonce is None:
        nonce = str(1000 + secrets.randbelow(9000))  # "short digit string"
    data_encrypt = encrypt_payload(payload, client_id, client_secret)
    return {
        "signature": signature(client_id, timestamp, nonce, data_encrypt),
        "dataEncrypt": data_encrypt,
        "timestamp": timestamp,
        "nonce": nonce,
    }


def _parse_body(body: bytes | str | dict) -> dict:
    if isinstance(body, bytes | bytearray | memoryview):
        try:
            body = bytes(body).decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedWebhook("The webhook body is not UTF-8.") from None
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except (ValueError, RecursionError):
            raise MalformedWebhook("The webhook body is not JSON.") from None
    if not isinstance(body, dict):
        raise MalformedWebhook("The webhook body is not a JSON object.")
    return body


def _is_number_like(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return 0 <= value < _MAX_NUMBER
    return isinstance(value, str) and 0 < len(value) <= 32 and value.isascii()


def verify_and_decrypt(body: bytes | str | dict, client_id: str, client_secret: str) -> dict:
    """Check a received webhook and return its decrypted payload (§7.6 receiver steps).

    Raises MalformedWebhook, BadSignature or DecryptionFailed (all WebhookError).
    """
    fields = _parse_body(body)
    missing = [name for name in REQUIRED_FIELDS if name not in fields]
    if missing:
        raise MalformedWebhook(f"The webhook body lacks {', '.join(missing)}.")
    sent_signature = fields["signature"]
    data_encrypt = fields["dataEncrypt"]
    timestamp = fields["timestamp"]
    nonce = fields["nonce"]
    if not isinstance(sent_signature, str) or not sent_signature.isascii():
        raise MalformedWebhook("The webhook signature is not a hex string.")
    if not isinstance(data_encrypt, str) or not data_encrypt.isascii():
        raise MalformedWebhook("The webhook dataEncrypt is not a base64 string.")
    if len(data_encrypt) > _MAX_TEXT:
        raise MalformedWebhook("The webhook dataEncrypt is too long.")
    # §7.2: timestamp is a number; nonce shows up both as "1529" and 1529. Digit strings
    # are accepted for both: the signature covers their decimal form either way.
    if not _is_number_like(timestamp):
        raise MalformedWebhook("The webhook timestamp is not a number.")
    if not _is_number_like(nonce):
        raise MalformedWebhook("The webhook nonce is not a string or number.")

    expected = signature(client_id, timestamp, nonce, data_encrypt)
    # Bytes, not str: compare_digest raises TypeError on non-ASCII str.
    if not hmac.compare_digest(expected.encode("ascii"), sent_signature.lower().encode("ascii")):
        raise BadSignature("The webhook signature does not match.")

    payload = decrypt_payload(data_encrypt, client_id, client_secret)
    if not isinstance(payload.get("_id"), str) or not payload["_id"]:
        raise MalformedWebhook("The webhook payload has no string _id.")
    status = payload.get("status")
    if isinstance(status, bool) or not isinstance(status, int):
        raise MalformedWebhook("The webhook payload has no integer status.")
    return payload
