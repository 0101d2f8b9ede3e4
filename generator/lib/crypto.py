"""Encryption at rest for Akool credentials (MultiFernet, newest key first).

Values are decrypted when first read, not when their row is loaded: with a wrong
FIELD_ENCRYPTION_KEYS only the code that needs a secret fails (with DecryptionError), while
every page that merely shows a team keeps working.
"""

import base64
import hashlib
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.db.models.query_utils import DeferredAttribute


class DecryptionError(Exception):
    """A stored secret could not be decrypted with any configured key."""


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def encryption_keys() -> tuple[str, ...]:
    keys = tuple(settings.FIELD_ENCRYPTION_KEYS)
    if keys:
        return keys
    if not settings.DEBUG:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS must be set when DEBUG is off")
    # Development only: a key derived from SECRET_KEY, so a laptop runs with no setup.
    digest = hashlib.sha256(b"akool-web field encryption:" + settings.SECRET_KEY.encode()).digest()
    return (base64.urlsafe_b64encode(digest).decode(),)


def encrypt(plaintext: str) -> str:
    return _fernet(encryption_keys()).encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet(encryption_keys()).decrypt(token.encode()).decode()
    except InvalidToken:
        # Never fall back to returning the ciphertext: a wrong key is an operator error.
        raise DecryptionError(
            "A stored secret could not be decrypted: FIELD_ENCRYPTION_KEYS does not hold the "
            "key it was encrypted with."
        ) from None


def rotate(token: str) -> str:
    try:
        return _fernet(encryption_keys()).rotate(token.encode()).decode()
    except InvalidToken:
        raise DecryptionError("A stored secret could not be decrypted for rotation.") from None


class Sealed:
    """A stored ciphertext that has not been decrypted yet."""

    __slots__ = ("token",)

    def __init__(self, token):
        self.token = token

    def __repr__(self):
        return "<encrypted>"


class _DecryptOnRead(DeferredAttribute):
    """The field's attribute: decrypts on first read and keeps the plaintext on the instance.
    A value that cannot be decrypted stays sealed, so reading it raises every time."""

    def __get__(self, instance, cls=None):
        if instance is None:
            return self
        value = super().__get__(instance, cls)
        if isinstance(value, Sealed):
            value = decrypt(value.token)
            instance.__dict__[self.field.attname] = value
        return value

    def __set__(self, instance, value):
        instance.__dict__[self.field.attname] = value


class EncryptedTextField(models.TextField):
    """A text column that holds only Fernet ciphertext; Python code sees the plaintext.

    `values()` and `values_list()` return `Sealed` objects for it, never plaintext.
    """

    descriptor_class = _DecryptOnRead

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return value
        return Sealed(value)

    def pre_save(self, model_instance, add):
        # The raw value: saving a row whose secret was never read (or cannot be read) writes
        # its ciphertext back unchanged instead of failing.
        return model_instance.__dict__.get(self.attname)

    def get_prep_value(self, value):
        if isinstance(value, Sealed):
            return value.token
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return encrypt(value)
