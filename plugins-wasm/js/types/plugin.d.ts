/// <reference path="./interfaces/portunus-plugin-host.d.ts" />
/// <reference path="./interfaces/portunus-plugin-types.d.ts" />
declare module 'portunus:plugin/plugin@0.8.0' {
  export type HandleRef = import('portunus:plugin/types@0.8.0').HandleRef;
  export type PluginInfo = import('portunus:plugin/types@0.8.0').PluginInfo;
  export type Message = import('portunus:plugin/types@0.8.0').Message;
  export type Reply = import('portunus:plugin/types@0.8.0').Reply;
  export type MediaEvent = import('portunus:plugin/types@0.8.0').MediaEvent;
  export type StateEntry = import('portunus:plugin/types@0.8.0').StateEntry;
  export type StateChange = import('portunus:plugin/types@0.8.0').StateChange;
  export type SourceState = import('portunus:plugin/types@0.8.0').SourceState;
  export type * as PortunusPluginHost080 from 'portunus:plugin/host@0.8.0'; // import portunus:plugin/host@0.8.0
  export type * as PortunusPluginTypes080 from 'portunus:plugin/types@0.8.0'; // import portunus:plugin/types@0.8.0
  /**
  * Called once per instance, before anything else, with the plugin's
  * `janus.plugin.<name>.jcfg` as JSON (`{}` when there is none). The returned package
  * name must stay the same across versions of the plugin.
  */
  export function init(config: string): PluginInfo;
  /**
  * Janus `attach`. An error refuses the attach (461 with the text).
  */
  export function createHandle(handle: HandleRef): void;
  /**
  * Janus `message`.
  */
  export function handleMessage(msg: Message): Reply;
  /**
  * Admin `message_plugin`: a JSON request (`{}` when the admin request had none), a JSON
  * response (Janus's plugins answer their synchronous requests here, errors as their error
  * event). An error is Janus's 490 with its text: a plugin that takes none says so ("Plugin
  * doesn't support Admin API messages", the SDKs' default).
  */
  export function handleAdminMessage(request: string): string;
  /**
  * Something happened to a handle's media.
  */
  export function mediaEvent(handle: HandleRef, event: MediaEvent): void;
  /**
  * A data-channel message from a handle's client.
  */
  export function incomingData(handle: HandleRef, label: string | undefined, data: Uint8Array, isText: boolean): void;
  /**
  * A timer set with `set-timer` fired.
  */
  export function timer(token: bigint): void;
  /**
  * Packets stopped or started arriving on a stream of an RTP input.
  */
  export function inputMedia(input: bigint, mid: string, receiving: boolean): void;
  /**
  * The RTSP source of an input (`input-options.rtsp`) plays, or was lost.
  */
  export function inputSource(input: bigint, state: SourceState): void;
  /**
  * A mixer's recording (`mixer-record`) stopped because writing failed: why.
  */
  export function mixerRecordFailed(mixer: bigint, why: string): void;
  /**
  * A datagram arrived on a socket opened with `udp-bind` (a message, on one opened with
  * `tcp-listen` or `tls-listen`).
  */
  export function datagram(socket: number, from: string, data: Uint8Array): void;
  /**
  * The handle is gone (detach, session destroyed or timed out). Its forwarding rules are
  * already removed.
  */
  export function destroyHandle(handle: HandleRef): void;
  /**
  * Plugin-specific state of a handle for admin `handle_info`, as a JSON object.
  */
  export function queryHandle(handle: HandleRef): string;
  /**
  * What changed in the plugin's saved state since the last `checkpoint` (or since
  * `restore`), for crash recovery and hot reload. Called between calls, never during one.
  * The host keeps the merged entries (at most `max_snapshot_bytes` of keys and values in
  * all), so a checkpoint costs what changed, not the whole state. With `full` the plugin
  * returns every entry it has (values only) and the host replaces its copy: the host asks
  * so when it could not merge the previous changes (over the limit).
  */
  export function checkpoint(full: boolean): Array<StateChange>;
  /**
  * Loads saved state, after `init`: every entry the host kept, from this or an older
  * version (hot reload, crash recovery). An error keeps the old version running (reload)
  * or starts from what `init` left (crash recovery).
  */
  export function restore(entries: Array<StateEntry>): void;
  export type Option<T> = { tag: 'none' } | { tag: 'some', val: T };
  export type Result<T, E> = { tag: 'ok', val: T } | { tag: 'err', val: E };
}
