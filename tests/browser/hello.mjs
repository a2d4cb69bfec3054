// Opens the tutorial's page (hello.html) in headless Chromium (janus.js): asks the Hello plugin
// for two greetings and sends one bad request. Prints the page's observations as one JSON line;
// exits 1 if they do not come within the timeout.
//
// usage: node hello.mjs <page url> <timeout ms>
import { withChromium } from "./chromium.mjs";

const [url, timeoutArg] = process.argv.slice(2);
const timeout = Number(timeoutArg || 30000);
const wait = (page, fn, arg) => page.waitForFunction(fn, arg, { timeout, polling: 100 });

const code = await withChromium(async (context, watch) => {
  const page = watch(await context.newPage(), "hello");
  try {
    await page.goto(url);
    await wait(page, () => window.demo.attached || window.demo.error);
    await page.evaluate(() => window.demoGreet("Ada"));
    await wait(page, () => window.demo.greetings.length === 1 || window.demo.error);
    await page.evaluate(() => window.demoGreet());
    await wait(page, () => window.demo.greetings.length === 2 || window.demo.error);
    await page.evaluate(() => window.demoGreet(""));
    await wait(page, () => window.demo.errors.length === 1 || window.demo.error);
  } catch (e) {
    console.error(`timed out: ${e.message}`);
  }
  const seen = await page.evaluate(() => window.demo);
  console.log(JSON.stringify(seen));
  return seen.error ? 1 : 0;
});
process.exit(code);
