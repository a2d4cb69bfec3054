"""Janus request bodies: parsing and field checks, with Janus's error texts."""

import json
from dataclasses import dataclass


class PluginError(Exception):
    """A request failed with a Janus error code and text (`{"error_code": N, "error": text}`)."""

    def __init__(self, code: int, text: str):
        super().__init__(text)
        self.code = code
        self.text = text

    def event(self, package: str) -> dict:
        """The error as a plugin event: `{"<plugin>": "event", "error_code": N, "error": text}`."""
        return {short_name(package): "event", "error_code": self.code, "error": self.text}


def short_name(package: str) -> str:
    """`janus.plugin.echotest` -> `echotest`, the key Janus's events carry."""
    return package.rsplit(".", 1)[-1]


@dataclass(frozen=True)
class ErrorCodes:
    """A plugin's codes for a body that is not JSON, lacks a field, or has a wrong one."""

    invalid_json: int
    missing_element: int
    invalid_element: int


BOOL, INTEGER, REAL, STRING, ARRAY, OBJECT = "boolean", "integer", "real", "string", "array", "object"


@dataclass(frozen=True)
class Field:
    """One field of a request: its JSON type, and whether it is required, positive or non-empty."""

    name: str
    type: str
    required: bool = False
    positive: bool = False
    nonempty: bool = False

    def type_name(self) -> str:
        """How Janus names the expected type: "a boolean", "a positive integer", ..."""
        if self.positive:
            prefix = "a positive "
        elif self.nonempty:
            prefix = "a non-empty "
        elif self.type in (INTEGER, ARRAY, OBJECT):
            prefix = "an "
        else:
            prefix = "a "
        return prefix + self.type

    def accepts(self, value) -> bool:
        """Whether `value` (parsed JSON) has this field's type."""
        if self.type == BOOL:
            return isinstance(value, bool)
        if self.type == INTEGER:
            return isinstance(value, int) and not isinstance(value, bool) and (not self.positive or value >= 0)
        if self.type == REAL:
            return isinstance(value, float) and (not self.positive or value >= 0)
        if self.type == STRING:
            return isinstance(value, str) and (not self.nonempty or value != "")
        if self.type == ARRAY:
            return isinstance(value, list) and (not self.nonempty or len(value) > 0)
        return self.type == OBJECT and isinstance(value, dict)


def parse_object(body: str, codes: ErrorCodes) -> dict:
    """The body as a JSON object, or the plugin's invalid-JSON error."""
    try:
        value = json.loads(body)
    except ValueError as err:
        raise PluginError(codes.invalid_json, f"JSON error: on line {getattr(err, 'lineno', 1)}: {err}") from None
    if not isinstance(value, dict):
        raise PluginError(codes.invalid_json, "JSON error: not an object")
    return value


def validate(body: dict, fields, codes: ErrorCodes) -> None:
    """Checks the fields in order; the first bad one is the error, as in Janus."""
    for field in fields:
        if field.name not in body:
            if field.required:
                raise PluginError(codes.missing_element, f"Missing mandatory element ({field.name})")
        elif not field.accepts(body[field.name]):
            raise PluginError(
                codes.invalid_element, f"Invalid element type ({field.name} should be {field.type_name()})"
            )


def parse_body(body, fields, codes: ErrorCodes) -> dict:
    """`parse_object` then `validate`: the checked body. `body` is JSON text, or a body already
    parsed (`msg.body`), which is then only checked."""
    value = parse_object(body, codes) if isinstance(body, str) else body
    if not isinstance(value, dict):
        raise PluginError(codes.invalid_json, "JSON error: not an object")
    validate(value, fields, codes)
    return value
