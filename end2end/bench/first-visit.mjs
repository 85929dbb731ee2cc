// A first visit to the console over a slow link: a new browser profile (empty
// cache), the network held to 1.6 Mbit/s down, 750 kbit/s up and 150 ms of
// latency per request (Chromium's own throttling), from navigation to a login
// form a person can use: the console started and drew its username field.
// Prints the median of three visits in ms, then, as a baseline, the median of
// three over the unthrottled loopback.
// Used by the bench (bench/src/console.rs): node first-visit.mjs <base>
import { launch } from "./browser.mjs";

const [base] = process.argv.slice(2);

const browser = await launch();

async function visit(throttled) {
  const context = await browser.newContext();
  const page = await context.newPage();
  if (throttled) {
    const cdp = await context.newCDPSession(page);
    await cdp.send("Network.enable");
    await cdp.send("Network.emulateNetworkConditions", {
      offline: false,
      latency: 150,
      downloadThroughput: 1_600_000 / 8,
      uploadThroughput: 750_000 / 8,
    });
  }
  await page.goto(`${base}/login`, { waitUntil: "commit" });
  // The field is the console's own (the page before it starts has none); the
  // time is taken in the first task after the frame that found it.
  const shown = await page.evaluate(
    () =>
      new Promise((resolve, reject) => {
        setTimeout(() => reject(new Error("no login form within 60 s")), 60_000);
        const check = () => {
          if (document.querySelector("form input#username") !== null)
            setTimeout(() => resolve(performance.now()), 0);
          else requestAnimationFrame(check);
        };
        requestAnimationFrame(check);
      }),
  );
  await context.close();
  return shown;
}

const median = (times) => times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
const slow = [];
const fast = [];
for (let i = 0; i < 3; i++) {
  slow.push(await visit(true));
  fast.push(await visit(false));
}
await browser.close();
console.log(`${median(slow).toFixed(1)} ${median(fast).toFixed(1)}`);
