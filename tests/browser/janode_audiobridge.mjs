// janode (Node.js, no browser) drives the gateway's AudioBridge the way applications built on
// it do, without WebRTC (Janus lets a participant join before it has a PeerConnection): create,
// exists, list, two participants join (the first hears of the second), listparticipants,
// configure, mute/unmute, mute_room, suspend/resume (each hears its own and the other's event),
// kick, leave, destroy. janode checks every answer's shape;
// what it returned is printed as one JSON line (exit 1 on any error).
//
// usage: node janode_audiobridge.mjs <ws url>
import Janode from "janode";
import AudioBridgePlugin from "janode/plugins/audiobridge";

const [url] = process.argv.slice(2);
Janode.Logger.setLevel("warning");
const out = {};
let code = 1;
const connection = await Janode.connect({ address: { url }, max_retries: 1 });
try {
  const session = await connection.create();
  const alice = await session.attach(AudioBridgePlugin);
  const bob = await session.attach(AudioBridgePlugin);
  const heard = new Promise((resolve) => alice.once(AudioBridgePlugin.EVENT.AUDIOBRIDGE_PEER_JOINED, resolve));
  out.created = await alice.create({ room: 4242, description: "janode", secret: "s", sampling_rate: 16000 });
  out.exists = await alice.exists({ room: 4242 });
  out.listed = (await alice.list()).list.some((r) => r.room === 4242);
  out.aliceJoined = await alice.join({ room: 4242, feed: 1, display: "alice" });
  out.bobJoined = await bob.join({ room: 4242, feed: 2, display: "bob" });
  out.aliceHeard = await heard;
  out.participants = (await alice.listParticipants({ room: 4242 })).participants.map((p) => p.display).sort();
  out.configured = await bob.configure({ muted: true, volume: 80 });
  out.unmuted = await alice.unmute({ room: 4242, feed: 2, secret: "s" });
  out.roomMuted = await alice.muteRoom({ room: 4242, secret: "s" });
  const suspended = new Promise((resolve) => bob.once(AudioBridgePlugin.EVENT.AUDIOBRIDGE_SUSPENDED, resolve));
  const peerSuspended = new Promise((resolve) => alice.once(AudioBridgePlugin.EVENT.AUDIOBRIDGE_PEER_SUSPENDED, resolve));
  out.suspend = await alice.suspend({ room: 4242, feed: 2, secret: "s" });
  out.suspended = await suspended;
  out.peerSuspended = await peerSuspended;
  out.suspendedListed = (await alice.listParticipants({ room: 4242 })).participants.find((p) => p.feed === 2);
  const resumed = new Promise((resolve) => bob.once(AudioBridgePlugin.EVENT.AUDIOBRIDGE_RESUMED, resolve));
  out.resume = await bob.resume({ room: 4242, feed: 2 });
  out.resumed = await resumed;
  out.kicked = await alice.kick({ room: 4242, feed: 2, secret: "s" });
  out.left = await alice.leave();
  out.destroyed = await alice.destroy({ room: 4242, secret: "s" });
  await session.destroy();
  code = 0;
} catch (e) {
  out.error = String(e && e.message ? e.message : e);
} finally {
  console.log(JSON.stringify(out));
  await connection.close().catch(() => {});
}
process.exit(code);
