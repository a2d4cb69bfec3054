"""The Portunus plugin SDK for Python.

A plugin is a subclass of `Plugin` whose methods get parsed JSON and Python values, exported
with `export`::

    import portunus

    class Hello(portunus.Plugin):
        def info(self, config):
            return portunus.info("janus.plugin.hello", "Hello", version=1)

        def handle_message(self, msg):
            return {"hello": msg.body.get("name", "world")}

    WitWorld = portunus.export(Hello)

What the SDK does for the author:
- `msg.body` is the parsed body (`portunus.parse_body` checks fields with Janus's error texts);
  `msg.jsep` the parsed JSEP (a dict) or None (`is_offer`, `is_answer`, `is_update`,
  `has_simulcast` read it).
- `handle_message` returns a dict (a synchronous `success`), `portunus.ack(hint)` (the client
  gets `ack`; push events during the call) or raises `PluginError` (an event with Janus's
  `error_code` and `error`, after an `ack`), the way the Janus plugins answer.
- Media events go to `on_<event>` methods (`on_webrtc_up`, `on_hangup`, `on_negotiation`, ...).
- Every attribute that is a `Keyed` is saved and restored for hot reload and crash recovery.
- `portunus.log` writes to the gateway's log under the plugin's name; an uncaught exception is
  logged with its traceback, and fails the call (the gateway rebuilds the instance).

`portunus.host` is the gateway's import interface (typed bindings generated from `wit/` when
the component is built) and `portunus.types` its types.
"""

import json
import traceback

from componentize_py_types import Err

import wit_world
from wit_world.imports import host, types

from .body import (
    ARRAY, BOOL, INTEGER, OBJECT, REAL, STRING, ErrorCodes, Field, PluginError, parse_body,
    parse_object, short_name, validate,
)
from .state import Keyed

__all__ = [
    "ARRAY", "BOOL", "INTEGER", "OBJECT", "REAL", "STRING", "Ack", "Err", "ErrorCodes", "Field", "Keyed",
    "Message", "Plugin", "PluginError", "ack", "event", "export", "handle_key", "has_simulcast", "host", "info",
    "is_answer", "is_offer", "is_update", "log",
    "parse_body", "parse_object", "push_event", "refuse", "short_name", "types", "validate",
]


def info(package: str, name: str, *, author: str = "", description: str = "", version: int = 1,
         version_string: str = "") -> types.PluginInfo:
    """What `Plugin.info` returns: the Janus package name and how `info` lists the plugin."""
    return types.PluginInfo(package, name, author, description, version, version_string or f"0.0.{version}")


class Ack:
    """An asynchronous answer: the client gets `ack` (with the hint)."""

    def __init__(self, hint=None):
        self.hint = hint


def ack(hint=None) -> Ack:
    """Answers a message with `ack`; its result goes out as events."""
    return Ack(hint)


def refuse(text: str) -> types.Reply:
    """Answers a message with Janus error 462 and this text (a request the plugin cannot take
    at all, e.g. on a handle it does not know)."""
    return types.Reply_Error(text)


def event(package: str, **fields) -> dict:
    """A Janus plugin event: `{"<plugin>": "event", **fields}`."""
    return {short_name(package): "event", **fields}


def _dumps(value) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def push_event(handle, transaction, event: dict, jsep=None) -> bool:
    """Sends an event (and a JSEP, a dict or JSON text) to a handle's client; False (logged)
    when the gateway refuses it (the handle is gone)."""
    if isinstance(jsep, dict):
        jsep = _dumps(jsep)
    try:
        host.push_event(handle, transaction, _dumps(event), jsep)
        return True
    except Err as err:
        log.warn(f"[{handle.handle}] could not push an event: {err.value}")
        return False


def is_offer(jsep) -> bool:
    """Whether a JSEP (a dict, or None) is an offer with an SDP."""
    return bool(jsep) and str(jsep.get("type", "")).lower() == "offer" and bool(jsep.get("sdp"))


def is_answer(jsep) -> bool:
    """Whether a JSEP (a dict, or None) is an answer with an SDP."""
    return bool(jsep) and str(jsep.get("type", "")).lower() == "answer" and bool(jsep.get("sdp"))


def is_update(jsep) -> bool:
    """Whether a JSEP renegotiates (janus.js marks it `update: true`)."""
    return bool(jsep) and jsep.get("update") is True


def has_simulcast(jsep) -> bool:
    """Whether a JSEP says its sender does simulcast (janus.js's `simulcast` list)."""
    return bool(jsep) and bool(jsep.get("simulcast"))


def has_svc(jsep) -> bool:
    """Whether a JSEP says a stream of its sender does SVC (janus.js's `svc` list)."""
    return bool(jsep) and isinstance(jsep.get("svc"), list) and len(jsep["svc"]) > 0


def handle_key(handle) -> dict:
    """A handle as JSON (for saved state): `{"session": .., "handle": ..}`."""
    return {"session": handle.session, "handle": handle.handle}


class _Log:
    """Log lines under the plugin's name, at the gateway's levels."""

    def error(self, text):
        host.log(types.LogLevel.ERROR, str(text))

    def warn(self, text):
        host.log(types.LogLevel.WARN, str(text))

    def info(self, text):
        host.log(types.LogLevel.INFO, str(text))

    def debug(self, text):
        host.log(types.LogLevel.DEBUG, str(text))


log = _Log()


class Message:
    """A Janus `message`: the handle, the transaction, the body (a dict) and the JSEP (a dict or
    None). `raw_body` is the body's JSON text, for `parse_body`."""

    __slots__ = ("handle", "transaction", "raw_body", "body", "jsep")

    def __init__(self, msg: types.Message):
        self.handle = msg.handle
        self.transaction = msg.transaction
        self.raw_body = msg.body
        try:
            body = json.loads(msg.body) if msg.body.strip() else None
        except ValueError:
            body = None
        self.body = body
        self.jsep = json.loads(msg.jsep) if msg.jsep else None


class Plugin:
    """The base of a plugin: override what it needs; the rest does what Janus's plugins do by
    default (nothing, or an error for messages)."""

    #: Set by `info`: the package name, for events and errors.
    package = ""

    def info(self, config: dict) -> types.PluginInfo:
        """Called once, with the plugin's `janus.plugin.<name>.jcfg` as a dict."""
        raise NotImplementedError("a plugin must define info()")

    def create_handle(self, handle) -> None:
        """Janus `attach`; raise `PluginError` (or any exception) to refuse it."""

    def handle_message(self, msg: Message):
        """Janus `message`: a dict (`success`), `ack(...)`, `refuse(text)`, or raise
        `PluginError`."""
        raise PluginError(499, "Unsupported request")

    def handle_admin_message(self, request: dict) -> dict:
        """Admin `message_plugin`; refused unless overridden."""
        raise PluginError(0, "Plugin doesn't support Admin API messages")

    def incoming_data(self, handle, label, data: bytes, is_text: bool) -> None:
        """A data-channel message (`data` is bytes; text when `is_text`)."""

    def timer(self, token: int) -> None:
        """A timer set with `host.set_timer` fired."""

    def input_media(self, input_id: int, mid: str, receiving: bool) -> None:
        """An RTP input's stream started or stopped receiving."""

    def input_source(self, input_id: int, state) -> None:
        """An RTSP input's source plays (`state.value`: its streams) or was lost (`state.value`:
        why); `state` is a `types.SourceState_Playing` or `types.SourceState_Lost`."""

    def mixer_record_failed(self, mixer: int, why: str) -> None:
        """A mixer's recording (`host.mixer_record`) stopped because writing failed."""

    def datagram(self, socket: int, source: str, data: bytes) -> None:
        """A datagram on a socket from `host.udp_bind`."""

    def destroy_handle(self, handle) -> None:
        """The handle is gone (its forwarding rules already are)."""

    def query_handle(self, handle) -> dict:
        """The handle's state for admin `handle_info`."""
        return {}

    def error_event(self, err: PluginError) -> dict:
        """How a `PluginError` goes to the client."""
        return err.event(self.package)

    def _saved(self):
        return [value for value in vars(self).values() if isinstance(value, Keyed)]


_MEDIA_EVENTS = {
    types.MediaEvent_WebrtcUp: "on_webrtc_up",
    types.MediaEvent_Media: "on_media",
    types.MediaEvent_SlowLink: "on_slow_link",
    types.MediaEvent_Hangup: "on_hangup",
    types.MediaEvent_Negotiated: "on_negotiated",
    types.MediaEvent_SubstreamChanged: "on_substream_changed",
    types.MediaEvent_TemporalChanged: "on_temporal_changed",
    types.MediaEvent_Negotiation: "on_negotiation",
    types.MediaEvent_Talking: "on_talking",
    types.MediaEvent_Dtmf: "on_dtmf",
}


def _err(exc: BaseException) -> Err:
    return Err(exc.text if isinstance(exc, PluginError) else str(exc))


def _logged(method):
    """An uncaught exception goes to the gateway's log with its traceback, then fails the call
    (the gateway rebuilds the instance from its saved state)."""

    def call(self, *args):
        try:
            return method(self, *args)
        except Err:
            raise
        except BaseException:
            log.error("uncaught exception (the call fails):\n" + traceback.format_exc())
            raise

    return call


def export(plugin_class):
    """The component's exports for `plugin_class` (assign the result to `WitWorld` in the app
    module): one instance of it serves every call."""
    plugin = plugin_class()

    class Exports(wit_world.WitWorld):
        def init(self, config: str) -> types.PluginInfo:
            try:
                result = plugin.info(json.loads(config))
            except Exception as exc:
                raise _err(exc) from None
            plugin.package = result.package
            return result

        def create_handle(self, handle) -> None:
            try:
                plugin.create_handle(handle)
            except Exception as exc:
                raise _err(exc) from None

        def handle_message(self, msg: types.Message) -> types.Reply:
            message = Message(msg)
            try:
                result = plugin.handle_message(message)
            except PluginError as err:
                push_event(msg.handle, msg.transaction, plugin.error_event(err))
                return types.Reply_Ack(None)
            if isinstance(result, Ack):
                return types.Reply_Ack(result.hint)
            if isinstance(result, (types.Reply_Ok, types.Reply_Ack, types.Reply_Error)):
                return result
            return types.Reply_Ok(_dumps(result))

        def handle_admin_message(self, request: str) -> str:
            try:
                return _dumps(plugin.handle_admin_message(json.loads(request)))
            except Exception as exc:
                raise _err(exc) from None

        def media_event(self, handle, event) -> None:
            method = getattr(plugin, _MEDIA_EVENTS.get(type(event), ""), None)
            if method is not None:
                if isinstance(event, types.MediaEvent_WebrtcUp):
                    method(handle)
                else:
                    method(handle, event.value)

        def incoming_data(self, handle, label, data: bytes, is_text: bool) -> None:
            plugin.incoming_data(handle, label, bytes(data), is_text)

        def timer(self, token: int) -> None:
            plugin.timer(token)

        def input_media(self, input: int, mid: str, receiving: bool) -> None:
            plugin.input_media(input, mid, receiving)

        def input_source(self, input: int, state) -> None:
            plugin.input_source(input, state)

        def mixer_record_failed(self, mixer: int, why: str) -> None:
            plugin.mixer_record_failed(mixer, why)

        def datagram(self, socket: int, from_: str, data: bytes) -> None:
            plugin.datagram(socket, from_, bytes(data))

        def destroy_handle(self, handle) -> None:
            plugin.destroy_handle(handle)

        def query_handle(self, handle) -> str:
            return _dumps(plugin.query_handle(handle))

        def checkpoint(self, full: bool):
            out = []
            for keyed in plugin._saved():
                keyed.save(full, out, types.StateChange)
            return out

        def restore(self, entries) -> None:
            try:
                for keyed in plugin._saved():
                    keyed.load(entries)
            except Exception as exc:
                raise Err(f"restore: {exc}") from None

    for name in ("handle_message", "media_event", "incoming_data", "timer", "input_media", "input_source",
                 "mixer_record_failed", "datagram",
                 "destroy_handle", "query_handle", "checkpoint"):
        setattr(Exports, name, _logged(getattr(Exports, name)))
    Exports.__name__ = "WitWorld"
    return Exports
