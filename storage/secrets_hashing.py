"""Case codes and secrets: easy to read aloud, hard to guess, and only a slow hash of the secret is kept."""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import hmac
import secrets
from concurrent.futures import ThreadPoolExecutor

# Leaves out 0 O 1 I L 8 B S Z U: characters easily misread, misheard or mistyped for one another.
ALPHABET = "ACDEFGHJKMNPQRTVWXY2345679"
CODE_GROUPS = 2  # K7QP-3XMD: 26^8, about 2 * 10^11 codes
SECRET_GROUPS = 4  # 26^16, about 75 bits: beyond guessing, even with the hash in hand
GROUP_LENGTH = 4

# scrypt at 2^12 x 8 x 1 takes about 4 MB and 12 ms. The secret's 75 bits already put it beyond guessing
# with the hash in hand; the hash makes each guess costly without holding SQLite's one writer (a report is
# hashed inside its transaction) or 16 MB per report under load, as 2^14 did. Stored hashes name their own
# parameters, so those made with 2^14 still verify.
SCRYPT_N = 2**12
SCRYPT_R = 8
SCRYPT_P = 1
SCRYPT_LENGTH = 32
SALT_BYTES = 16

# Each scrypt call holds its 4 MB inside OpenSSL, and a thread's malloc arena keeps what it once held: on
# asyncio's default executor (CPU count + 4 threads) a burst of reports left about 15 MB behind for good.
# scrypt is CPU-bound, so more threads than a small server's cores would not answer sooner anyway.
HASHING_THREADS = 2
_hashing = ThreadPoolExecutor(max_workers=HASHING_THREADS, thread_name_prefix="policybot-scrypt")


def _random_groups(groups: int) -> str:
    return "-".join("".join(secrets.choice(ALPHABET) for _ in range(GROUP_LENGTH)) for _ in range(groups))


def new_case_code() -> str:
    return _random_groups(CODE_GROUPS)


def new_case_secret() -> str:
    return _random_groups(SECRET_GROUPS)


def normalise(typed: str, *, groups: int) -> str | None:
    """The canonical form of a typed code or secret (any case, spaces or dashes), or None if it cannot be one."""
    characters = "".join(ch for ch in typed.upper() if ch not in " -\t")
    if len(characters) != groups * GROUP_LENGTH or any(ch not in ALPHABET for ch in characters):
        return None
    return "-".join(characters[i : i + GROUP_LENGTH] for i in range(0, len(characters), GROUP_LENGTH))


def normalise_code(typed: str) -> str | None:
    return normalise(typed[:64], groups=CODE_GROUPS)


def normalise_secret(typed: str) -> str | None:
    return normalise(typed[:128], groups=SECRET_GROUPS)


def hash_secret(secret: str) -> str:
    salt = secrets.token_bytes(SALT_BYTES)
    digest = _scrypt(secret, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_secret(secret: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, expected = stored.split("$")
        if scheme != "scrypt":
            return False
        digest = _scrypt(secret, base64.b64decode(salt), int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(digest, base64.b64decode(expected))


async def hash_secret_off_loop(secret: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(_hashing, hash_secret, secret)


async def verify_secret_off_loop(secret: str, stored: str) -> bool:
    return await asyncio.get_running_loop().run_in_executor(_hashing, verify_secret, secret, stored)


@functools.cache
def dummy_hash() -> str:
    """Checked against when the code is unknown, so an unknown code takes as long as a wrong secret."""
    return hash_secret(new_case_secret())


def _scrypt(secret: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(secret.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=64 * 1024 * 1024, dklen=SCRYPT_LENGTH)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")
