// The Portunus plugin SDK for JavaScript.
//
// A plugin is an object (or class) whose methods get parsed JSON and JavaScript values; the
// component's exports come from `definePlugin`:
//
//   import { definePlugin, info } from '../sdk/portunus.js';
//   class Hello {
//     info(config) { return info('janus.plugin.hello', 'Hello', { version: 1 }); }
//     handleMessage(msg) { return { hello: msg.body.name ?? 'world' }; }
//   }
//   export const { init, createHandle, handleMessage, handleAdminMessage, mediaEvent,
//     incomingData, timer, inputMedia, inputSource, mixerRecordFailed, datagram, destroyHandle, queryHandle, checkpoint,
//     restore } = definePlugin(Hello);
//
// What the SDK does for the author:
// - `msg.body` is the parsed body (`parseBody` checks fields with Janus's error texts);
//   `msg.jsep` the parsed JSEP or null (`isOffer`, `isAnswer`, `isUpdate`, `hasSimulcast`, `hasSvc`).
// - `handleMessage` returns an object (a synchronous `success`), `ack(hint)` (the client gets
//   `ack`; push events during the call), `refuse(text)` (Janus error 462), or throws
//   `PluginError` (an event with Janus's `error_code` and `error`, after an `ack`).
// - Media events go to `on<Event>` methods (`onWebrtcUp`, `onHangup`, `onNegotiation`, ...).
// - Every property that is a `Keyed` is saved and restored for hot reload and crash recovery,
//   in the Rust SDK's encoding (a plugin may be replaced by a build in another language).
// - `log` writes to the gateway's log under the plugin's name; an uncaught error is logged with
//   its stack, and fails the call (the gateway rebuilds the instance).
//
// `host` is the gateway's import interface (`wit/plugin.wit`, in jco's conventions: records
// as objects with camelCase keys, u64 as BigInt, enums as strings, variants as {tag, val},
// functions returning `result` throw on error).

import * as host from 'portunus:plugin/host@0.8.0';

export { host };

/** A request failed with a Janus error code and text. */
export class PluginError extends Error {
  constructor(code, text) {
    super(text);
    this.code = code;
    this.text = text;
  }
  /** The error as a plugin event: `{"<plugin>": "event", error_code, error}`. */
  event(pkg) {
    return { [shortName(pkg)]: 'event', error_code: this.code, error: this.text };
  }
}

/** `janus.plugin.echotest` -> `echotest`, the key Janus's events carry. */
export function shortName(pkg) {
  return pkg.slice(pkg.lastIndexOf('.') + 1);
}

/** The text of an error thrown by a host import (its `result`'s error). */
export function errorText(err) {
  return typeof err?.payload === 'string' ? err.payload : String(err?.message ?? err);
}

/** JSON text of a value; BigInts become exact numbers. */
export function toJson(value) {
  try {
    // The fast path: a replacer function makes stringify several times slower.
    return JSON.stringify(value);
  } catch (err) {
    if (!(err instanceof TypeError)) throw err;
  }
  let big = false;
  const text = JSON.stringify(value, (_, x) => {
    if (typeof x !== 'bigint') return x;
    big = true;
    return `\u0000big${x}\u0000`;
  });
  return big ? text.replace(/"\\u0000big(-?\d+)\\u0000"/g, '$1') : text;
}

/** What `info` returns: the Janus package name and how `info` lists the plugin. */
export function info(pkg, name, { author = '', description = '', version = 1, versionString = '' } = {}) {
  return { package: pkg, name, author, description, version, versionString: versionString || `0.0.${version}` };
}

/** Answers a message with `ack`; its result goes out as events. */
export function ack(hint) {
  return { tag: 'ack', val: hint ?? undefined };
}

/** Answers a message with Janus error 462 and this text. */
export function refuse(text) {
  return { tag: 'error', val: text };
}

/** A Janus plugin event: `{"<plugin>": "event", ...fields}`. */
export function event(pkg, fields = {}) {
  return { [shortName(pkg)]: 'event', ...fields };
}

/** Sends an event (and a JSEP, an object or JSON text) to a handle's client; false (logged)
 *  when the gateway refuses it. */
export function pushEvent(handle, transaction, ev, jsep) {
  try {
    const j = jsep == null ? undefined : typeof jsep === 'string' ? jsep : toJson(jsep);
    host.pushEvent(handle, transaction ?? undefined, toJson(ev), j);
    return true;
  } catch (err) {
    log.warn(`[${handle.handle}] could not push an event: ${errorText(err)}`);
    return false;
  }
}

/**
 * Janus's `notify_event`: tells the gateway's event handlers `make()` (a JSON object) about
 * `handle` (a handle reference, or null), when they take plugin events (`make` runs only then).
 * A refusal is logged: event handlers are for monitoring and never change what the plugin does.
 */
export function notifyEvent(handle, make) {
  if (!host.eventsEnabled()) return;
  try {
    host.notifyEvent(handle ?? undefined, toJson(make()));
  } catch (err) {
    log.warn(`could not notify the event handlers: ${errorText(err)}`);
  }
}

/** Log lines under the plugin's name. */
export const log = {
  error: (text) => host.log('error', String(text)),
  warn: (text) => host.log('warn', String(text)),
  info: (text) => host.log('info', String(text)),
  debug: (text) => host.log('debug', String(text)),
};

/** JSON types of request fields, named as Janus's errors name them. */
export const BOOL = 'boolean';
export const INTEGER = 'integer';
export const REAL = 'real';
export const STRING = 'string';
export const ARRAY = 'array';
export const OBJECT = 'object';

/** One field of a request: its type, and whether it is required, positive or non-empty. */
export function field(name, type, { required = false, positive = false, nonempty = false } = {}) {
  return { name, type, required, positive, nonempty };
}

function typeName(f) {
  const prefix = f.positive ? 'a positive ' : f.nonempty ? 'a non-empty ' : [INTEGER, ARRAY, OBJECT].includes(f.type) ? 'an ' : 'a ';
  return prefix + f.type;
}

function accepts(f, v) {
  switch (f.type) {
    case BOOL: return typeof v === 'boolean';
    case INTEGER: return Number.isInteger(v) && !(f.positive && v < 0);
    case REAL: return typeof v === 'number' && !(f.positive && v < 0);
    case STRING: return typeof v === 'string' && !(f.nonempty && v === '');
    case ARRAY: return Array.isArray(v) && !(f.nonempty && v.length === 0);
    default: return v !== null && typeof v === 'object' && !Array.isArray(v);
  }
}

/** The body as a JSON object, or the plugin's invalid-JSON error. `codes` is
 *  `{invalidJson, missingElement, invalidElement}`. */
export function parseObject(body, codes) {
  let value;
  try {
    value = JSON.parse(body);
  } catch (err) {
    throw new PluginError(codes.invalidJson, `JSON error: on line 1: ${err.message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new PluginError(codes.invalidJson, 'JSON error: not an object');
  }
  return value;
}

// A field list's lookup table (by name, with each field's place) and its required fields.
const SCHEMAS = new WeakMap();

function schemaOf(fields) {
  let schema = SCHEMAS.get(fields);
  if (!schema) {
    const placed = fields.map((f, i) => [f, i]);
    schema = { byName: new Map(placed.map((p) => [p[0].name, p])), required: placed.filter((p) => p[0].required) };
    SCHEMAS.set(fields, schema);
  }
  return schema;
}

/** Checks the fields; the first bad one in the list's order is the error, as in Janus. Costs
 *  the body's keys and the required fields, not the whole list (an interpreter is slow). */
export function validate(body, fields, codes) {
  const { byName, required } = schemaOf(fields);
  let bad = null;
  for (const key in body) {
    const placed = byName.get(key);
    if (placed && (bad === null || placed[1] < bad[1]) && !accepts(placed[0], body[key])) bad = placed;
  }
  const missing = required.find((p) => !(p[0].name in body));
  if (missing && (bad === null || missing[1] < bad[1])) {
    throw new PluginError(codes.missingElement, `Missing mandatory element (${missing[0].name})`);
  }
  if (bad) throw new PluginError(codes.invalidElement, `Invalid element type (${bad[0].name} should be ${typeName(bad[0])})`);
}

/** `parseObject` then `validate`: the checked body. `body` is JSON text, or a body already
 *  parsed (`msg.body`), which is then only checked. */
export function parseBody(body, fields, codes) {
  const value = typeof body === 'string' ? parseObject(body, codes) : body;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new PluginError(codes.invalidJson, 'JSON error: not an object');
  }
  validate(value, fields, codes);
  return value;
}

const jsepType = (jsep) => String(jsep?.type ?? '').toLowerCase();
/** Whether a JSEP (or null) is an offer with an SDP. */
export const isOffer = (jsep) => Boolean(jsep?.sdp) && jsepType(jsep) === 'offer';
/** Whether a JSEP (or null) is an answer with an SDP. */
export const isAnswer = (jsep) => Boolean(jsep?.sdp) && jsepType(jsep) === 'answer';
/** Whether a JSEP renegotiates (janus.js marks it `update: true`). */
export const isUpdate = (jsep) => jsep?.update === true;
/** Whether a JSEP says its sender does simulcast (janus.js's `simulcast` list). */
export const hasSimulcast = (jsep) => Array.isArray(jsep?.simulcast) && jsep.simulcast.length > 0;
/** Whether a JSEP says a stream of its sender does SVC (janus.js's `svc` list). */
export const hasSvc = (jsep) => Array.isArray(jsep?.svc) && jsep.svc.length > 0;

/** A handle as JSON (for saved state): `{session, handle}` as numbers. */
export function handleKey(handle) {
  return { session: Number(handle.session), handle: Number(handle.handle) };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function encodeKey(key) {
  return typeof key === 'string' ? JSON.stringify(key) : String(key);
}

function decodeKey(text) {
  return /^-?\d+$/.test(text) ? BigInt(text) : JSON.parse(text);
}

/** A Map saved entry by entry under `<prefix><key as JSON>`, values as JSON (the Rust SDK's
 *  encoding). Reading an entry with `get` marks it as possibly changed (its value may be
 *  mutated in place), so a checkpoint saves what calls touched, not the whole map. Integer
 *  keys are BigInts (handle ids are). */
export class Keyed extends Map {
  constructor(prefix) {
    super();
    this.prefix = prefix;
    this.touched = new Set();
  }
  get(key) {
    if (super.has(key)) this.touched.add(key);
    return super.get(key);
  }
  set(key, value) {
    this.touched?.add(key);
    return super.set(key, value);
  }
  delete(key) {
    this.touched.add(key);
    return super.delete(key);
  }
  /** Removes the entries for which `keep(key, value)` is false. */
  retain(keep) {
    for (const [k, v] of [...super.entries()]) if (!keep(k, v)) this.delete(k);
  }
  /** Appends the changes since the last save (every entry when `full`) to `out`. */
  save(full, out) {
    const keys = full ? [...super.keys()] : [...this.touched];
    for (const key of keys) {
      const value = super.has(key) ? encoder.encode(toJson(super.get(key))) : undefined;
      out.push({ key: this.prefix + encodeKey(key), value });
    }
    this.touched = new Set();
  }
  /** Takes the entries under the prefix from saved state. */
  load(entries) {
    for (const { key, value } of entries) {
      if (key.startsWith(this.prefix)) super.set(decodeKey(key.slice(this.prefix.length)), JSON.parse(decoder.decode(value)));
    }
    this.touched = new Set();
  }
}

const MEDIA_EVENTS = {
  'webrtc-up': 'onWebrtcUp',
  media: 'onMedia',
  'slow-link': 'onSlowLink',
  hangup: 'onHangup',
  negotiated: 'onNegotiated',
  'substream-changed': 'onSubstreamChanged',
  'temporal-changed': 'onTemporalChanged',
  negotiation: 'onNegotiation',
  talking: 'onTalking',
  dtmf: 'onDtmf',
};

function rethrow(err) {
  // The export's `result` error: the thrown value's `payload`.
  const e = new Error(err instanceof PluginError ? err.text : errorText(err));
  e.payload = e.message;
  throw e;
}

/** Runs `f`; an uncaught error goes to the gateway's log with its stack, then fails the call
 *  (the gateway rebuilds the instance from its saved state). */
function guard(f) {
  try {
    return f();
  } catch (err) {
    log.error(`uncaught error (the call fails): ${err?.stack ? `${err}\n${err.stack}` : err}`);
    throw err;
  }
}

/** The component's exports for a plugin (a class, instantiated once, or an object). */
export function definePlugin(PluginClass) {
  const plugin = typeof PluginClass === 'function' ? new PluginClass() : PluginClass;
  let pkg = '';
  const saved = () => Object.values(plugin).filter((v) => v instanceof Keyed);
  const call = (name, ...args) => guard(() => (typeof plugin[name] === 'function' ? plugin[name](...args) : undefined));
  return {
    init(config) {
      try {
        const result = plugin.info(JSON.parse(config));
        pkg = result.package;
        plugin.package = pkg;
        return result;
      } catch (err) {
        rethrow(err);
      }
    },
    createHandle(handle) {
      try {
        call('createHandle', handle);
      } catch (err) {
        rethrow(err);
      }
    },
    handleMessage(msg) {
      let body = null;
      try {
        body = msg.body.trim() ? JSON.parse(msg.body) : null;
      } catch (_) { /* the host passes valid JSON */ }
      const message = { handle: msg.handle, transaction: msg.transaction, rawBody: msg.body, body, jsep: msg.jsep ? JSON.parse(msg.jsep) : null };
      try {
        const result = plugin.handleMessage ? plugin.handleMessage(message) : refuse('Unsupported request');
        if (result && (result.tag === 'ack' || result.tag === 'error' || result.tag === 'ok')) return result;
        return { tag: 'ok', val: toJson(result) };
      } catch (err) {
        if (!(err instanceof PluginError)) guard(() => { throw err; });
        pushEvent(msg.handle, msg.transaction, err.event(pkg));
        return ack();
      }
    },
    handleAdminMessage(request) {
      try {
        const parsed = JSON.parse(request);
        if (!plugin.handleAdminMessage) throw new Error("Plugin doesn't support Admin API messages");
        return toJson(plugin.handleAdminMessage(parsed));
      } catch (err) {
        rethrow(err);
      }
    },
    mediaEvent(handle, ev) {
      const name = MEDIA_EVENTS[ev.tag];
      if (name) call(name, handle, ev.val);
    },
    incomingData: (handle, label, data, isText) => call('incomingData', handle, label, data, isText),
    timer: (token) => call('timer', token),
    inputMedia: (input, mid, receiving) => call('inputMedia', input, mid, receiving),
    inputSource: (input, state) => call('inputSource', input, state),
    mixerRecordFailed: (mixer, why) => call('mixerRecordFailed', mixer, why),
    datagram: (socket, from, data) => call('datagram', socket, from, data),
    destroyHandle: (handle) => call('destroyHandle', handle),
    queryHandle: (handle) => toJson(call('queryHandle', handle) ?? {}),
    checkpoint(full) {
      const out = [];
      guard(() => saved().forEach((keyed) => keyed.save(full, out)));
      return out;
    },
    restore(entries) {
      try {
        for (const keyed of saved()) keyed.load(entries);
      } catch (err) {
        rethrow(new Error(`restore: ${errorText(err)}`));
      }
    },
  };
}
