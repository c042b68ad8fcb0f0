"""Encryption at rest (AES-256-GCM) and keyed digests, from one 32-byte key.

The key comes from `ENCRYPTION_KEY` or a key file created on first run with mode 0600. A missing key file
is never silently replaced when the database already holds encrypted data: `storage.database` checks a
stored canary against the key at start-up."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
import secrets
import stat
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from storage.errors import EncryptionKeyError, StorageError

log = logging.getLogger(__name__)

KEY_BYTES = 32
NONCE_BYTES = 12
# Stored ciphertexts start with a version tag so that a future key rotation can tell them apart.
CIPHERTEXT_PREFIX = "v1:"


class DecryptionError(StorageError):
    """A stored ciphertext does not decrypt with the current key (tampered with, or another key)."""


def generate_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


def decode_key(encoded: str, *, source: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(encoded.strip().encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raw = b""
    if len(raw) != KEY_BYTES:
        raise EncryptionKeyError(
            f"The encryption key in {source} is not valid: it must be {KEY_BYTES} random bytes in URL-safe base64 "
            f'(make one with: python -c "import base64,os;print(base64.urlsafe_b64encode(os.urandom(32)).decode())")'
        )
    return raw


def read_key_file(path: Path) -> str | None:
    """The key stored in `path`, or None when the file does not exist."""
    try:
        mode = path.stat().st_mode
        encoded = path.read_text(encoding="ascii")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise EncryptionKeyError(f"Cannot read the encryption key file {path}: {error}") from None
    if stat.S_IMODE(mode) & 0o077:
        log.warning("encryption key file %s is readable by other users; run: chmod 600 %s", path, path)
    return encoded


def create_key_file(path: Path) -> str:
    """Write a new key to `path` with mode 0600; if another process won the race, use its key."""
    if not path.parent.exists():
        # The folder also holds the database (user ids, the audit trail): the bot's user only.
        path.parent.mkdir(parents=True, mode=0o700, exist_ok=True)
        os.chmod(path.parent, 0o700)  # mkdir's mode is filtered through the umask
    encoded = generate_key()
    # Written whole under a name of its own, then linked into place: a process starting at the same moment
    # finds either no key or the whole key, never a half-written file.
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    _write_new(draft, encoded)
    try:
        _link_into_place(draft, path, encoded)
    except FileExistsError:
        existing = read_key_file(path)
        if existing is None:  # pragma: no cover - deleted between the two calls
            raise EncryptionKeyError(f"The encryption key file {path} appeared and vanished; try again") from None
        return existing
    finally:
        draft.unlink(missing_ok=True)
    return encoded


def _link_into_place(draft: Path, path: Path, encoded: str) -> None:
    try:
        os.link(draft, path)
    except FileExistsError:
        raise
    except OSError:
        # A filesystem without hard links (some network and FAT volumes): the key is created in place.
        _write_new(path, encoded)


def _write_new(path: Path, encoded: str) -> None:
    """`path` created with mode 0600 and the key written; FileExistsError when it is already there."""
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w", encoding="ascii") as handle:
        handle.write(encoded + "\n")
        handle.flush()
        os.fsync(handle.fileno())


class Cipher:
    """Encrypts texts to printable strings and computes keyed digests, with keys derived from one master key."""

    def __init__(self, master_key: bytes) -> None:
        self._aead = AESGCM(_derive(master_key, b"policybot text encryption v1"))
        self._digest_key = _derive(master_key, b"policybot identifier digest v1")

    def encrypt(self, plaintext: str, *, purpose: str) -> str:
        # The purpose is authenticated data: a ciphertext moved to another column does not decrypt.
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode("utf-8"), purpose.encode("ascii"))
        return CIPHERTEXT_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")

    def decrypt(self, ciphertext: str, *, purpose: str) -> str:
        if not ciphertext.startswith(CIPHERTEXT_PREFIX):
            raise DecryptionError("A stored text is not in a known encrypted format")
        try:
            blob = base64.urlsafe_b64decode(ciphertext[len(CIPHERTEXT_PREFIX):].encode("ascii"))
            plaintext = self._aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], purpose.encode("ascii"))
        except (InvalidTag, binascii.Error, ValueError):
            raise DecryptionError(
                "A stored text does not decrypt with the current encryption key; is it the key this database was created with?"
            ) from None
        return plaintext.decode("utf-8")

    def digest(self, value: str) -> str:
        """A keyed digest: equal inputs match, but the stored value does not reveal or confirm the input
        to someone holding only the database."""
        return hmac.new(self._digest_key, value.encode("utf-8"), hashlib.sha256).hexdigest()


def _derive(master_key: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=info).derive(master_key)
