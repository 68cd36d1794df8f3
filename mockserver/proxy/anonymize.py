"""Anonymization of what the proxy records and reports: the API key, emails, people's and objects' names and ids.

The same original always gets the same stand-in within one proxy run (so a recorded job id in a create's answer is
the id in the later GET's path), and every stand-in keeps the length and character classes of its original (so
ids still fit the spec's patterns and a recorded file's bytes still match its Content-Range). The map from
originals to stand-ins lives in memory only, under a random salt: a recording holds no way
back to the originals. Replacement works on text, so a recorded body keeps every other byte as the platform sent it.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
from typing import Any

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
ID_KEY = re.compile(r"(^id$|Id$|_id$)")
PERSON_KEYS = {"fullName", "firstName", "lastName", "username", "userName", "owner", "ownerName", "createdBy",
               "first_name", "last_name", "full_name"}
SECRET_KEY = re.compile(r"(?i)(key$|token|secret|password)")
NAMED_PARENTS = {"company", "workspace", "organization"}
KEY_STAND_IN = "<redacted-key>"
NOTHING = re.compile(r"(?!)")
WORD = re.compile(r"[A-Za-z0-9]+")  # ids and keys are words; `user_<id>` holds one
BOUNDARY_BEFORE, BOUNDARY_AFTER = r"(?<![A-Za-z0-9])", r"(?![A-Za-z0-9])"


class Scrubber:
    def __init__(self) -> None:
        self._salt = secrets.token_bytes(16)
        self._map: dict[str, str] = {}
        self._emails: dict[str, str] = {}
        self._pattern: re.Pattern[str] | None = None
        self._lock = threading.RLock()

    # -- learning what is sensitive ------------------------------------------------------------------------------
    def learn_authorization(self, header: str | None) -> None:
        """`Token <key>`: the key is replaced wherever it appears."""
        for word in (header or "").split()[1:]:
            self._add(word, KEY_STAND_IN)

    def learn_id(self, value: Any) -> None:
        text = str(value)
        if isinstance(value, bool) or len(text) < 4 or (text.isdigit() and len(text) < 4):
            return  # short numbers are too common to replace in text safely
        if text not in self._map:
            self._add(text, self._stand_in_id(text))

    def learn_json(self, payload: Any, parent: str = "") -> None:
        if isinstance(payload, dict):
            for key, value in payload.items():
                if isinstance(value, (dict, list)):
                    self.learn_json(value, key)
                elif isinstance(value, str) and SECRET_KEY.search(key) and value:
                    self._add(value, "<redacted>")
                elif ID_KEY.search(key) and isinstance(value, (str, int)):
                    self.learn_id(value)
                elif isinstance(value, str) and len(value) >= 3 and not EMAIL.search(value) \
                        and _is_a_name(key, payload, parent):
                    self._name(value)
        elif isinstance(payload, list):
            for item in payload:
                self.learn_json(item, parent)

    def _name(self, value: str) -> None:
        with self._lock:
            if value not in self._map:
                self._add(value, self._stand_in_id(value))

    # -- applying it ---------------------------------------------------------------------------------------------
    def text(self, text: str) -> str:
        with self._lock:
            text = EMAIL.sub(self._email, text)
            pattern = self._compiled()  # originals of several words (names): few, one alternation
            if pattern is not None:
                text = pattern.sub(lambda m: self._map[m[0]], text)
            return WORD.sub(lambda m: self._map.get(m[0], m[0]), text)  # single words (ids, keys): a lookup

    def bytes(self, data: bytes) -> bytes:
        """Text bodies are scrubbed; bytes that are not UTF-8 (file contents) pass unchanged."""
        try:
            return self.text(data.decode("utf-8")).encode("utf-8")
        except UnicodeDecodeError:
            return data

    def value(self, value: Any) -> Any:
        """A JSON fragment (a report's example), scrubbed."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.value(v) for v in value]
        if isinstance(value, dict):
            return {self.text(k): self.value(v) for k, v in value.items()}
        return value

    # -- internals -----------------------------------------------------------------------------------------------
    def _add(self, original: str, stand_in: str) -> None:
        with self._lock:
            if self._map.get(original) != stand_in:
                self._map[original] = stand_in
                if not WORD.fullmatch(original):
                    self._pattern = None

    def _compiled(self) -> re.Pattern[str] | None:
        if self._pattern is None:
            phrases = sorted((k for k in self._map if not WORD.fullmatch(k)), key=len, reverse=True)
            self._pattern = re.compile(BOUNDARY_BEFORE + "(?:" + "|".join(map(re.escape, phrases)) + ")"
                                       + BOUNDARY_AFTER) if phrases else NOTHING
        return None if self._pattern is NOTHING else self._pattern

    def _email(self, match: re.Match[str]) -> str:
        original = match[0]
        with self._lock:
            if original not in self._emails:
                self._emails[original] = self._stand_in_id(original)
            return self._emails[original]

    def _stand_in_id(self, text: str) -> str:
        """Same length and character classes (punctuation kept), from a keyed hash: no way back without the run's
        salt."""
        for attempt in range(100):
            digest = hmac.new(self._salt, f"{attempt}:{text}".encode(), hashlib.sha256).digest() * 4
            out = []
            for char, byte in zip(text, digest):
                if char.isdigit():
                    out.append("0123456789"[byte % 10])
                elif char.isupper():
                    out.append(chr(65 + byte % 26))
                elif char.islower():
                    out.append(chr(97 + byte % 26))
                else:
                    out.append(char)
            candidate = "".join(out)
            taken = candidate in self._map or candidate in self._map.values() or candidate in self._emails.values()
            if candidate != text and not taken:
                return candidate
        return "x" + secrets.token_hex(len(text))[: max(len(text) - 1, 1)]


def _is_a_name(key: str, obj: dict[str, Any], parent: str) -> bool:
    """People's names anywhere; an object's `name` when it is the user's (a job, a file, a cluster, a project:
    it has an id and no catalog `code`) or their company's. Catalog names (core types, analyses) stay."""
    if key in PERSON_KEYS:
        return True
    return key == "name" and (parent in NAMED_PARENTS or ("id" in obj and "code" not in obj))
