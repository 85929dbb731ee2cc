import { expect, type Page, test } from "@playwright/test";
import { adminHeaders, clearWebhooks, logIn, snap } from "./helpers";

// A person in a hurry: pages left before they finish loading, back and
// forward at once, dialogs opened and cancelled, reloads. Nothing may panic,
// and the console must still work at the end.

test.beforeEach(async ({ request }) => {
  await clearWebhooks(request);
  const headers = await adminHeaders(request);
  for (const name of ["Orders", "Tickets", "Units"]) {
    const created = await request.post("/api/webhooks", {
      headers,
      // Port 9 on loopback refuses: the deliveries fail and stay in Logs.
      data: { name, url: "http://127.0.0.1:9/in", events: [`${name.toLowerCase()}.*`] },
    });
    expect(created.status()).toBe(201);
  }
  const events = Array.from({ length: 30 }, (_, n) => ({
    type: ["orders.create", "tickets.update", "units.delete"][n % 3],
    data: { n },
  }));
  expect((await request.post("/api/events", { headers, data: { events } })).status()).toBe(202);
});

/** Clicks `selector` if it is there within a moment; a hurried user does not wait. */
async function tryClick(page: Page, selector: string) {
  await page
    .locator(selector)
    .first()
    .click({ timeout: 300 })
    .catch(() => {});
}

const pause = (page: Page) => page.waitForTimeout(Math.floor(Math.random() * 51));

const steps: ((page: Page) => Promise<unknown>)[] = [
  (page) => tryClick(page, 'nav a[href="/webhooks"]'),
  (page) => tryClick(page, 'nav a[href="/triggers"]'),
  (page) => tryClick(page, 'nav a[href="/logs"]'),
  (page) => tryClick(page, 'nav a[href="/users"]'),
  (page) => tryClick(page, 'a:has-text("View Logs")'),
  (page) => tryClick(page, 'a:has-text("Create Webhook")'),
  (page) => tryClick(page, "tr a:has-text('Edit')"),
  (page) => tryClick(page, "tr a:has-text('Logs')"),
  (page) => tryClick(page, "tr[data-delivery] a"),
  (page) => tryClick(page, "button:has-text('Delete')").then(() => tryClick(page, "button:has-text('Cancel')")),
  (page) => page.goBack({ waitUntil: "commit" }).catch(() => {}),
  (page) => page.goForward({ waitUntil: "commit" }).catch(() => {}),
  // Back and Forward at once.
  (page) =>
    Promise.all([
      page.goBack({ waitUntil: "commit" }).catch(() => {}),
      page.goForward({ waitUntil: "commit" }).catch(() => {}),
    ]),
  (page) => page.reload({ waitUntil: "commit" }).catch(() => {}),
  (page) => page.goto("/", { waitUntil: "commit" }).catch(() => {}),
];

test("a hurried user clicking everywhere cannot crash the console", async ({ page }) => {
  test.setTimeout(120_000);
  const problems: string[] = [];
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    if (/panicked|RuntimeError|unreachable|disposed/i.test(message.text())) {
      problems.push(`console: ${message.text()}`);
    }
  });
  await logIn(page);
  for (let step = 0; step < 80; step += 1) {
    await steps[Math.floor(Math.random() * steps.length)](page);
    await pause(page);
  }
  expect(problems).toEqual([]);

  // Still a working console: the table loads and a button answers.
  await page.goto("/webhooks");
  await expect(page.locator("tr", { hasText: "Orders" })).toBeVisible();
  await page.getByRole("link", { name: "Create Webhook" }).click();
  await expect(page.getByRole("heading", { name: "Create Webhook" })).toBeVisible();
  await snap(page, "hurried-after");
  expect(problems).toEqual([]);
});
