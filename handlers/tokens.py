"""Short-lived tokens that carry a verified code and secret from one form to the next (opening a case,
then adding to it), so the reporter types the secret once per visit. A token is sealed with the server's
key (authenticated encryption): the chat or form that holds it cannot read or alter it, and it expires.
Nothing is stored: a token lives only in the form it is put in."""

from __future__ import annotations

import json
import time

from storage.crypto import Cipher, DecryptionError

PURPOSE = "policybot.follow_up_token"
LIFETIME_S = 30 * 60


def seal(cipher: Cipher, *, code: str, secret: str, now: float | None = None) -> str:
    expires = int((now or time.time()) + LIFETIME_S)
    return cipher.encrypt(json.dumps({"c": code, "s": secret, "e": expires}), purpose=PURPOSE)


def open_token(cipher: Cipher, token: str, *, now: float | None = None) -> tuple[str, str] | None:
    """(code, secret) from a token this server sealed and that has not expired; otherwise None."""
    try:
        data = json.loads(cipher.decrypt(token, purpose=PURPOSE))
    except (DecryptionError, ValueError, TypeError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("e"), int) or data["e"] < (now or time.time()):
        return None
    code, secret = data.get("c"), data.get("s")
    return (code, secret) if isinstance(code, str) and isinstance(secret, str) else None
