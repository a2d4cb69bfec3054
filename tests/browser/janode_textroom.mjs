// janode (Node.js, no browser) drives the gateway's TextRoom the way applications built on it
// do: set up the data channel (the offer arrives; janode does no WebRTC, so the answer is an
// empty ack as Janus allows), then the management requests: create, exists, list,
// listparticipants, allowed, announcement, kick, destroy. janode checks every answer's shape;
// what it returned is printed as one JSON line (exit 1 on any error).
//
// usage: node janode_textroom.mjs <ws url>
import Janode from "janode";
import TextRoomPlugin from "janode/plugins/textroom";

const [url] = process.argv.slice(2);
Janode.Logger.setLevel("warning");
const out = {};
let code = 1;
const connection = await Janode.connect({ address: { url }, max_retries: 1 });
try {
  const session = await connection.create();
  const handle = await session.attach(TextRoomPlugin);
  const setup = await handle.setup();
  out.offer = Boolean(setup.jsep && setup.jsep.type === "offer" && setup.jsep.sdp.includes("m=application"));
  out.acked = await handle.ack();
  out.created = await handle.create({ room: 4242, description: "janode", secret: "s", history: 3 });
  out.exists = await handle.exists({ room: 4242 });
  out.listed = (await handle.list({})).list.some((r) => r.room === 4242);
  out.participants = await handle.listParticipants({ room: 4242 });
  out.allowed = await handle.allow({ room: 4242, action: "add", list: ["t1"], secret: "s" });
  out.announced = await handle.announcement({ room: 4242, text: "hello", secret: "s" });
  out.kick = await handle.kick({ room: 4242, username: "nobody", secret: "s" }).then(
    () => "kicked",
    (e) => String(e.message),
  );
  out.destroyed = await handle.destroy({ room: 4242, secret: "s" });
  await session.destroy();
  code = 0;
} catch (e) {
  out.error = String(e && e.message ? e.message : e);
} finally {
  console.log(JSON.stringify(out));
  await connection.close().catch(() => {});
}
process.exit(code);
