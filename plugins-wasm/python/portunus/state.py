"""Saved state: what a plugin keeps across hot reloads and crash recovery.

A `Keyed` is a dict whose entries are saved one by one under `<prefix><key as JSON>`, with
values as compact JSON, the same encoding as the Rust SDK's `Keyed`: a plugin may be replaced
by a version in another language and keep its state. Only the entries a call touched are saved
at the next checkpoint, so a checkpoint costs what a call changed, not the whole state.
"""

import json


def _encode(value) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


class Keyed(dict):
    """A dict saved entry by entry. Reading an entry marks it as possibly changed (its value may
    be mutated in place), so nested values need no special care."""

    def __init__(self, prefix: str):
        super().__init__()
        self.prefix = prefix
        self._touched = set()

    def __getitem__(self, key):
        value = super().__getitem__(key)
        self._touched.add(key)
        return value

    def get(self, key, default=None):
        if key in self:
            return self[key]
        return default

    def __setitem__(self, key, value):
        super().__setitem__(key, value)
        self._touched.add(key)

    def __delitem__(self, key):
        super().__delitem__(key)
        self._touched.add(key)

    def pop(self, key, *default):
        if key in self:
            self._touched.add(key)
        return super().pop(key, *default)

    def setdefault(self, key, default=None):
        self._touched.add(key)
        return super().setdefault(key, default)

    def retain(self, keep) -> None:
        """Removes the entries for which `keep(key, value)` is false."""
        for key in [k for k, v in super().items() if not keep(k, v)]:
            del self[key]

    def save(self, full: bool, out: list, change) -> None:
        """Appends the changes since the last save (every entry when `full`) to `out`, each made
        by `change(key, value or None)`."""
        keys = list(super().keys()) if full else self._touched
        for key in keys:
            name = self.prefix + json.dumps(key)
            value = dict.get(self, key, _MISSING)
            out.append(change(name, None if value is _MISSING else _encode(value)))
        self._touched = set()

    def load(self, entries) -> None:
        """Takes the entries under the prefix from saved state (`entries` of `.key`, `.value`)."""
        for entry in entries:
            if entry.key.startswith(self.prefix):
                key = json.loads(entry.key[len(self.prefix):])
                dict.__setitem__(self, key, json.loads(bytes(entry.value)))
        self._touched = set()


_MISSING = object()
