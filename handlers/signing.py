"""Signed button values and form metadata. What a button or form carries comes back from the person's
client (a Teams card's `Action.Submit` data, a Slack button value or modal's private_metadata), so the
bot believes it only when it carries the bot's own signature: HMAC-SHA256 over the action or form id and
the value, with a key of its own derived from the server's encryption key. A value signed for one button
does not verify on another, and nothing signed expires: a case's card stays usable for as long as the case.

    signer = Signer.from_cipher(database.cipher)
    reply = signer.signed(reply)                       # every button value and form metadata in it
    value = signer.button_value(action_id=..., signed=click.value)   # None: not ours, or altered
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import replace

from handlers.messages import Reply

# The key's purpose label: signing with it is keyed differently from every other use of the master key.
KEY_PURPOSE = "policybot button and form signing v1"
SEPARATOR = "."
DIGEST_CHARS = 43  # 32 bytes in unpadded URL-safe base64
# What signing adds to a value; flows keep their values this much under the platforms' limits.
SIGNATURE_CHARS = DIGEST_CHARS + len(SEPARATOR)


class Signer:
    def __init__(self, key: bytes) -> None:
        self._key = key

    @classmethod
    def from_cipher(cls, cipher) -> "Signer":
        """`cipher`: the database's `storage.crypto.Cipher`. Its keyed digest is HMAC-SHA256 under a key
        derived from the master key, so the digest of a purpose label is a key for that purpose alone;
        every replica sharing the database (and so the key) verifies what the others signed."""
        return cls(bytes.fromhex(cipher.digest(KEY_PURPOSE)))

    def _digest(self, kind: str, name: str, value: str) -> str:
        # surrogatepass: a value is hashed exactly as it came, whatever it holds.
        message = "\x00".join((kind, name, value)).encode("utf-8", "surrogatepass")
        digest = hmac.new(self._key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")

    def _sign(self, kind: str, name: str, value: str) -> str:
        return f"{self._digest(kind, name, value)}{SEPARATOR}{value}"

    def _verify(self, kind: str, name: str, signed: str) -> str | None:
        digest, separator, value = signed.partition(SEPARATOR)
        if not separator or len(digest) != DIGEST_CHARS:
            return None
        # Compared as bytes: a forged digest may hold any character, which compare_digest refuses in a str.
        expected = self._digest(kind, name, value).encode("ascii")
        return value if hmac.compare_digest(digest.encode("utf-8", "surrogatepass"), expected) else None

    def sign_button(self, *, action_id: str, value: str) -> str:
        return self._sign("button", action_id, value)

    def button_value(self, *, action_id: str, signed: str) -> str | None:
        """The value a button of `action_id` was given, or None when `signed` is not what the bot issued."""
        return self._verify("button", action_id, signed)

    def sign_form(self, *, form_id: str, metadata: str) -> str:
        return self._sign("form", form_id, metadata)

    def form_metadata(self, *, form_id: str, signed: str) -> str | None:
        """The private metadata a form of `form_id` was given, or None when `signed` is not the bot's."""
        return self._verify("form", form_id, signed)

    def signed(self, reply: Reply) -> Reply:
        """`reply` with every button value and its form's metadata signed (empty ones too: a click or a
        submission is believed only when the bot issued that very button or form)."""
        buttons = tuple(replace(b, value=self.sign_button(action_id=b.action_id, value=b.value)) for b in reply.buttons)
        form = reply.form
        if form is not None:
            form = replace(form, private_metadata=self.sign_form(form_id=form.form_id, metadata=form.private_metadata))
        return replace(reply, buttons=buttons, form=form)
