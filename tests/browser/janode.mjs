// janode (Node.js, no browser) drives the gateway's VideoRoom the way applications built on it
// do: create, exists, list, join as publishers, list the participants, hear a peer leave,
// destroy. janode checks every answer's shape; what it returned is printed as one JSON line
// (exit 1 on any error).
//
// usage: node janode.mjs <ws url>
import Janode from "janode";
import VideoRoomPlugin from "janode/plugins/videoroom";

const [url] = process.argv.slice(2);
Janode.Logger.setLevel("warning");
const out = {};
let code = 1;
const connection = await Janode.connect({ address: { url }, max_retries: 1 });
try {
  const session = await connection.create();
  const alice = await session.attach(VideoRoomPlugin);
  const bob = await session.attach(VideoRoomPlugin);
  out.created = await alice.create({ room: 4242, description: "janode", max_publishers: 4 });
  out.exists = await alice.exists({ room: 4242 });
  out.listed = (await alice.list()).list.some((r) => r.room === 4242);
  out.aliceJoined = await alice.joinPublisher({ room: 4242, display: "alice" });
  out.bobJoined = await bob.joinPublisher({ room: 4242, display: "bob" });
  out.participants = (await alice.listParticipants({ room: 4242 })).participants.map((p) => p.display).sort();
  const leaving = new Promise((resolve) => alice.once(VideoRoomPlugin.EVENT.VIDEOROOM_LEAVING, resolve));
  out.bobLeft = await bob.leave();
  out.aliceHeard = await leaving;
  out.destroyed = await alice.destroy({ room: 4242 });
  await session.destroy();
  code = 0;
} catch (e) {
  out.error = String(e && e.message ? e.message : e);
} finally {
  console.log(JSON.stringify(out));
  await connection.close().catch(() => {});
}
process.exit(code);
