import { expect, type Page, test } from "@playwright/test";
import { adminHeaders, clearWebhooks, logIn, snap } from "./helpers";

test.beforeEach(async ({ request }) => clearWebhooks(request));

// A phone: every page fits its width, nothing scrolls sideways.
test.use({ viewport: { width: 390, height: 844 } });

async function fitsTheWidth(page: Page, name: string) {
  await page.waitForLoadState("networkidle");
  await expect(page.locator(".loading")).toHaveCount(0);
  const { scroll, client } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    client: document.documentElement.clientWidth,
  }));
  expect(scroll, `${name} is ${scroll} px wide on a ${client} px screen`).toBeLessThanOrEqual(client);
  await snap(page, `phone-${name}`);
}

test("every page fits a phone's width", async ({ page, request }) => {
  const headers = await adminHeaders(request);
  // A long URL on 127.0.0.1 that nobody answers: tests send nothing elsewhere.
  const long = `http://127.0.0.1:9/services/${"T0123456789/".repeat(6)}incoming?token=${"x".repeat(40)}`;
  const created = await request.post("/api/webhooks", {
    headers,
    data: { name: "Closed tickets to the billing CRM", url: long, events: ["ticket.*"] },
  });
  expect(created.status()).toBe(201);
  const webhook = (await created.json()).data.id;
  const trigger = await request.post("/api/triggers", {
    headers,
    data: { name: `Phone trigger ${Date.now()}`, method: "POST", params: { CityName: "Paris" } },
  });
  expect(trigger.status()).toBe(201);
  const triggerId = (await trigger.json()).data.id;
  const published = await request.post("/api/events", {
    headers,
    data: { type: "ticket.close", data: { id: 7 } },
  });
  expect(published.status()).toBe(202);
  const deliveries = await (await request.get("/api/deliveries?limit=1", { headers })).json();
  const delivery = deliveries.data[0].id;

  await logIn(page);
  await expect(page.locator("tr[data-webhook]")).toHaveCount(1);
  await fitsTheWidth(page, "webhooks");
  const pages: [string, string][] = [
    [`/webhooks/${webhook}`, "webhook-edit"],
    ["/webhooks/new", "webhook-new"],
    ["/logs", "logs"],
    [`/logs/${delivery}`, "delivery"],
    ["/triggers", "triggers"],
    [`/triggers/${triggerId}`, "trigger-edit"],
    ["/triggers/new", "trigger-new"],
    ["/users", "users"],
  ];
  try {
    for (const [path, name] of pages) {
      await page.goto(path);
      await expect(page.getByRole("heading", { level: 1 })).toBeVisible();
      await fitsTheWidth(page, name);
      if (name === "logs" || name === "users") {
        // A card names each value, as the table's head did.
        const labels = await page
          .locator("td[data-label]")
          .evaluateAll((cells) => cells.map((cell) => getComputedStyle(cell, "::before").content));
        expect(labels.length).toBeGreaterThan(0);
        const expected = name === "logs" ? '"Attempts"' : '"Active"';
        expect(labels, name).toContain(expected);
      }
    }
  } finally {
    await request.delete(`/api/triggers/${triggerId}`, { headers });
  }
});
