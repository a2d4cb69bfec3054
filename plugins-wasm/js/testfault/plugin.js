// `janus.plugin.testfault` in JavaScript, for the containment tests: a plugin that misbehaves
// on request. `ping` counts (saved state), `spin` loops forever, `alloc` takes `mb` MiB, `panic`
// throws an error nobody catches.
import { Keyed, PluginError, definePlugin, info } from '../sdk/portunus.js';

const VERSION = 1;

class TestFault {
  constructor() {
    this.counts = new Keyed('count/');
  }

  info() {
    return info('janus.plugin.testfault', 'Test fault (JavaScript)', { version: VERSION });
  }

  handleMessage(msg) {
    const request = msg.body?.request;
    switch (request) {
      case 'ping': {
        const count = (this.counts.get('pings') ?? 0) + 1;
        this.counts.set('pings', count);
        return { testfault: 'pong', version: VERSION, count, lang: 'js' };
      }
      case 'spin':
        for (;;) { /* forever */ }
      case 'alloc': {
        const block = new Uint8Array(msg.body.mb * (1 << 20)).fill(0xa5);
        return { testfault: 'alloc', mb: block.length >> 20 };
      }
      case 'panic':
        throw new Error('testfault: throwing on request');
      default:
        throw new PluginError(499, `unknown request ${JSON.stringify(request)}`);
    }
  }
}

export const {
  init, createHandle, handleMessage, handleAdminMessage, mediaEvent, incomingData, timer, inputMedia, inputSource, mixerRecordFailed,
  datagram, destroyHandle, queryHandle, checkpoint, restore,
} = definePlugin(TestFault);
