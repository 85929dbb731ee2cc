// Loads the console's Webhooks page five times and prints the median time, in
// ms after navigation start, until it has painted `rows` rows, or the first
// rows of a long list with its "Showing the first …" line, or its empty state.
// Used by the bench (bench/src/console.rs): node render.mjs <base> <token> <rows>
import { launch } from "./browser.mjs";

const [base, token, rowsArg] = process.argv.slice(2);
const rows = Number(rowsArg);

const browser = await launch();
const context = await browser.newContext();
await context.addInitScript((token) => localStorage.setItem("hookhub.token", token), token);
const page = await context.newPage();
const times = [];
for (let i = 0; i < 6; i++) {
  await page.goto(`${base}/webhooks`, { waitUntil: "commit" });
  // Checked before each frame; once the rows are in the document, the time is
  // taken in the first task after that frame, which has laid them out and
  // painted them: what a person sees, not only what the DOM holds.
  const shown = await page.evaluate(
    (rows) =>
      new Promise((resolve, reject) => {
        setTimeout(() => reject(new Error(`${rows} rows not shown within 30 s`)), 30_000);
        const check = () => {
          const done =
            rows === 0
              ? document.querySelector(".empty") !== null
              : document.querySelectorAll("table.webhooks tbody tr").length >= rows ||
                (document.querySelector(".list-more") !== null &&
                  document.querySelector("table.webhooks tbody tr") !== null);
          if (done) setTimeout(() => resolve(performance.now()), 0);
          else requestAnimationFrame(check);
        };
        requestAnimationFrame(check);
      }),
    rows,
  );
  // The first load fills the browser's cache; it is not counted.
  if (i > 0) times.push(shown);
}
await browser.close();
times.sort((a, b) => a - b);
console.log(times[Math.floor(times.length / 2)].toFixed(1));
