// A Portunus plugin in JavaScript: copy this folder to start one (see docs/plugins.md).
//
// `janus.plugin.hello` answers `{"request": "hello", "name": "..."}` with a greeting and how
// many greetings the handle got; the count is saved state, so it survives hot reloads and
// crashes.
import { Keyed, PluginError, STRING, definePlugin, field, info, log, parseBody } from '../../js/sdk/portunus.js';

const PACKAGE = 'janus.plugin.hello';
const CODES = { invalidJson: 490, missingElement: 491, invalidElement: 492 };
const FIELDS = [field('request', STRING, { required: true }), field('name', STRING, { nonempty: true })];

class Hello {
  constructor() {
    // Saved for the plugin: handle id -> greetings so far.
    this.greetings = new Keyed('greetings/');
  }

  info() {
    return info(PACKAGE, 'Hello', { description: 'Greets whoever asks', version: 1 });
  }

  handleMessage(msg) {
    const body = parseBody(msg.body, FIELDS, CODES);
    if (body.request !== 'hello') throw new PluginError(493, `Unknown request '${body.request}'`);
    const count = (this.greetings.get(msg.handle.handle) ?? 0) + 1;
    this.greetings.set(msg.handle.handle, count);
    log.info(`greeting ${body.name ?? 'world'}`);
    return { hello: 'greeting', text: `Hello, ${body.name ?? 'world'}!`, count };
  }

  destroyHandle(handle) {
    this.greetings.delete(handle.handle);
  }
}

export const {
  init, createHandle, handleMessage, handleAdminMessage, mediaEvent, incomingData, timer, inputMedia, inputSource, mixerRecordFailed,
  datagram, destroyHandle, queryHandle, checkpoint, restore,
} = definePlugin(Hello);
