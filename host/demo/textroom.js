// The TextRoom demo, as janus.js's own TextRoom demo does it: the handle asks for `setup`,
// answers the gateway's data-channel offer with `ack`, then joins the room and chats in JSON on
// the channel. `window.demo` holds what the page observed (the browser test reads it), and
// `window.demoSay(text, to)` sends a message.
import Janus from "./vendor/janus.js";
import { $, params, reporter, server } from "./common.js";

const room = Number(params.get("room") || 1234);
const state = (window.demo = {
  room,
  username: params.get("name") || `guest-${Math.random().toString(36).slice(2, 6)}`,
  joining: false,
  joined: false,
  // Who else is in the room.
  participants: [],
  // { from, text, whisper } in arrival order (history first).
  messages: [],
  error: null,
});
const { show, fail } = reporter(state);
let handle = null;
const pending = {};

// A request on the data channel; `then` gets its answer.
function request(body, then) {
  const transaction = Janus.randomString(12);
  pending[transaction] = then;
  handle.data({ text: JSON.stringify({ ...body, transaction }), error: (e) => fail("data", e) });
}

window.demoSay = (text, to) => {
  const body = { textroom: "message", room, text };
  if (to) body.to = to;
  request(body, (answer) => answer.error && fail("message", answer.error));
};

function received(text) {
  const msg = JSON.parse(text);
  if (msg.transaction && pending[msg.transaction]) {
    const then = pending[msg.transaction];
    delete pending[msg.transaction];
    then(msg);
    return;
  }
  if (msg.textroom === "message") {
    state.messages.push({ from: msg.from, text: msg.text, whisper: Boolean(msg.whisper) });
    const line = document.createElement("div");
    line.className = msg.whisper ? "whisper" : "";
    line.textContent = `${msg.from}: ${msg.text}`;
    $("chat").append(line);
  } else if (msg.textroom === "join" && msg.username !== state.username) {
    state.participants.push(msg.username);
  } else if (msg.textroom === "leave" || msg.textroom === "kicked") {
    state.participants = state.participants.filter((p) => p !== msg.username);
  }
  show();
}

function join() {
  request({ textroom: "join", room, username: state.username, display: state.username }, (answer) => {
    if (answer.error) return fail("join", answer.error);
    state.joined = true;
    state.participants.push(...answer.participants.map((p) => p.username));
    show();
  });
}

function start() {
  const janus = new Janus({
    server: server(params.get("transport")).url,
    iceServers: [],
    success: () =>
      janus.attach({
        plugin: "janus.plugin.textroom",
        opaqueId: `portunus-demo-${Janus.randomString(8)}`,
        success: (h) => {
          handle = h;
          h.send({ message: { request: "setup" } });
        },
        error: (e) => fail("attach", e),
        onmessage: (msg, jsep) => {
          if (msg.error) fail("textroom", msg.error);
          if (!jsep) return;
          handle.createAnswer({
            jsep,
            tracks: [{ type: "data" }],
            success: (answer) => handle.send({ message: { request: "ack" }, jsep: answer }),
            error: (e) => fail("createAnswer", e),
          });
        },
        // Once: the gateway's offer brings a channel and janus.js opens its own.
        ondataopen: () => {
          if (!state.joining) join();
          state.joining = true;
        },
        ondata: (data) => received(data),
      }),
    error: (e) => fail("gateway", e),
  });
}

$("say").addEventListener("submit", (e) => {
  e.preventDefault();
  window.demoSay($("text").value, $("to").value || undefined);
  $("text").value = "";
});

Janus.init({
  debug: false,
  dependencies: Janus.useDefaultDependencies(),
  callback: start,
});
