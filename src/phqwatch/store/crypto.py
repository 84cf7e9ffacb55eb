"""Encryption at rest (Fernet) and keyed hashes for deduplication without storing text in clear."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from phqwatch.errors import ConfigError, StoreError


class TextCipher:
    """Encrypts and decrypts text with a Fernet key (urlsafe base64 of 32 bytes)."""

    def __init__(self, key: str) -> None:
        from cryptography.fernet import Fernet

        try:
            self._fernet = Fernet(key.encode("ascii") if isinstance(key, str) else key)
        except (ValueError, TypeError):
            raise ConfigError(
                "PHQWATCH_ENCRYPTION_KEY is not a Fernet key (urlsafe base64 of 32 bytes).",
                fix="Generate one: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'",
            ) from None
        self._hash_key = hashlib.sha256(b"phqwatch-dedup:" + key.encode("ascii")).digest()

    def encrypt(self, text: str) -> bytes:
        return self._fernet.encrypt(text.encode("utf-8"))

    def decrypt(self, token: bytes) -> str:
        from cryptography.fernet import InvalidToken

        try:
            return self._fernet.decrypt(bytes(token)).decode("utf-8")
        except InvalidToken:
            raise StoreError(
                "Stored text could not be decrypted with the configured key.",
                fix="Use the PHQWATCH_ENCRYPTION_KEY the data was written with.",
            ) from None

    def encrypt_json(self, obj: Any) -> bytes:
        return self.encrypt(json.dumps(obj, ensure_ascii=False, sort_keys=True))

    def decrypt_json(self, token: bytes | None) -> Any:
        return None if token is None else json.loads(self.decrypt(token))

    def keyed_hash(self, *parts: str) -> str:
        """HMAC-SHA256 of the parts (hex): dedup keys that reveal nothing about the text."""
        mac = hmac.new(self._hash_key, digestmod=hashlib.sha256)
        for p in parts:
            b = p.encode("utf-8")
            mac.update(len(b).to_bytes(8, "big"))
            mac.update(b)
        return mac.hexdigest()
