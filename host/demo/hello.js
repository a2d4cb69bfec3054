// The tutorial's page: attaches to `janus.plugin.hello` and sends `{"request": "hello", "name"}`;
// the plugin answers at once (a `success` with the greeting) or, for a bad request, with an
// error event. `window.demo` holds what the page observed (the browser test reads it), and
// `window.demoGreet(name)` asks for a greeting.
import Janus from "./vendor/janus.js";
import { $, params, reporter, server } from "./common.js";

const state = (window.demo = {
  plugin: params.get("plugin") || "janus.plugin.hello",
  attached: false,
  // The plugin's answers, in order.
  greetings: [],
  // Error events from the plugin ({error_code, error}).
  errors: [],
  error: null,
});
const { show, fail } = reporter(state);
let handle = null;

window.demoGreet = (name) => {
  const message = { request: "hello" };
  if (name !== undefined) message.name = name;
  handle.send({
    message,
    success: (answer) => {
      if (!answer) return; // an ack: an error event follows
      state.greetings.push(answer);
      $("answer").textContent = `${answer.text} (greeting number ${answer.count})`;
      show();
    },
    error: (e) => fail("hello", e),
  });
};

Janus.init({
  debug: false,
  dependencies: Janus.useDefaultDependencies(),
  callback: () => {
    const janus = new Janus({
      server: server(params.get("transport")).url,
      iceServers: [],
      success: () =>
        janus.attach({
          plugin: state.plugin,
          success: (h) => {
            handle = h;
            state.attached = true;
            show();
          },
          error: (e) => fail("attach", e),
          onmessage: (msg) => {
            if (msg.error_code) state.errors.push({ error_code: msg.error_code, error: msg.error });
            show();
          },
        }),
      error: (e) => fail("gateway", e),
    });
  },
});

$("greet").addEventListener("submit", (e) => {
  e.preventDefault();
  window.demoGreet($("name").value || undefined);
});
