// What the demo pages share: where the gateway is, and showing the page's observations.
import config from "./config.js";

export const params = new URLSearchParams(location.search);
export const $ = (id) => document.getElementById(id);

// The Janus API to use: ?server=ws://host:port (or an HTTP URL) points the page at another
// gateway; otherwise this gateway's WebSocket API, or its HTTP one (?transport=http).
export function server(transport) {
  const other = params.get("server");
  if (other) return { kind: other.startsWith("ws") ? "ws" : "http", url: other };
  if (transport === "http" || config.wsPort === null) {
    return { kind: "http", url: `${location.origin}${config.basePath}` };
  }
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return { kind: "ws", url: `${scheme}://${location.hostname}:${config.wsPort}` };
}

// Shows `state` on the page; `fail` records an error in it.
export function reporter(state) {
  const show = () => {
    $("status").textContent = JSON.stringify(state, null, 2);
  };
  const fail = (what, err) => {
    state.error = `${what}: ${typeof err === "string" ? err : JSON.stringify(err)}`;
    show();
  };
  return { show, fail };
}
