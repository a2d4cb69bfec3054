// Opens the gateway's TextRoom demo page twice in headless Chromium (janus.js): alice joins,
// says something to the room, bob joins and gets it from the history, then each sends a
// message (bob's a whisper to alice) and both must arrive. Prints both pages' observations as
// one JSON line ({a, b}); exits 1 if they do not come within the timeout.
//
// usage: node textroom.mjs <page url> <timeout ms>
import { withChromium } from "./chromium.mjs";

const [url, timeoutArg] = process.argv.slice(2);
const timeout = Number(timeoutArg || 30000);
const sep = url.includes("?") ? "&" : "?";
const wait = (page, fn, arg) => page.waitForFunction(fn, arg, { timeout, polling: 100 });
const has = ([from, text]) =>
  window.demo.error || window.demo.messages.some((m) => m.from === from && m.text === text);

const code = await withChromium(async (context, watch) => {
  const a = watch(await context.newPage(), "a");
  const b = watch(await context.newPage(), "b");
  try {
    await a.goto(`${url}${sep}name=alice`);
    await wait(a, () => window.demo.joined || window.demo.error);
    await a.evaluate(() => window.demoSay("hello, whoever comes"));
    await wait(a, has, ["alice", "hello, whoever comes"]);
    await b.goto(`${url}${sep}name=bob`);
    await wait(b, () => window.demo.joined || window.demo.error);
    await wait(b, has, ["alice", "hello, whoever comes"]);
    await a.evaluate(() => window.demoSay("hi bob"));
    await b.evaluate(() => window.demoSay("psst, alice", "alice"));
    await wait(b, has, ["alice", "hi bob"]);
    await wait(a, has, ["bob", "psst, alice"]);
  } catch (e) {
    console.error(`timed out: ${e.message}`);
  }
  const [da, db] = [await a.evaluate(() => window.demo), await b.evaluate(() => window.demo)];
  console.log(JSON.stringify({ a: da, b: db }));
  return da.error || db.error ? 1 : 0;
});
process.exit(code);
