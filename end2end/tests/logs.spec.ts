import { expect, test } from "@playwright/test";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { adminHeaders, clearWebhooks, logIn, snap } from "./helpers";

test.beforeEach(async ({ request }) => clearWebhooks(request));

test("a published event shows in Logs; its detail redelivers and the new attempt appears", async ({
  page,
  request,
  context,
}) => {
  await context.grantPermissions(["clipboard-read", "clipboard-write"]);
  // a real receiver that answers 500 first, then 200
  let calls = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      calls += 1;
      res.writeHead(calls === 1 ? 500 : 200, { "content-type": "application/json" });
      res.end(calls === 1 ? '{"error": "busy"}' : '{"ok": true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/in`;
  try {
    const headers = await adminHeaders(request);
    for (const [name, events] of [["Orders", ["order.*"]], ["Other", ["user.*"]]] as const) {
      const created = await request.post("/api/webhooks", { headers, data: { name, url, events } });
      expect(created.status()).toBe(201);
    }
    const published = await request.post("/api/events", {
      headers,
      data: { type: "order.create", data: { id: 42, total: "9.90" } },
    });
    expect(published.status()).toBe(202);

    await logIn(page);
    await page.getByRole("link", { name: "View Logs" }).click();
    await expect(page).toHaveURL(/\/logs$/);
    const row = page.locator("tr[data-delivery]", { hasText: "order.create" });
    await expect(row).toBeVisible();
    await expect(row).toContainText("Orders");
    // the clock time in sight, not only "just now"
    await expect(row.locator("time")).toHaveText(/^\d\d:\d\d:\d\d · /);

    // filter to the webhook and status; the filters live in the URL
    await page.getByLabel("Webhook").selectOption({ label: "Orders" });
    await expect(page).toHaveURL(/webhook_id=wh_/);
    await page.getByLabel("Event type").fill("order.create");
    await page.getByLabel("Event type").press("Enter");
    await expect(page).toHaveURL(/event_type=order.create/);
    await expect(page.locator("tr[data-delivery]")).toHaveCount(1);
    await page.reload();
    await expect(page.getByLabel("Webhook")).toHaveValue(/wh_/);
    await expect(page.locator("tr[data-delivery]")).toHaveCount(1);
    // typing applies by itself, a moment after the last key
    await page.getByLabel("Event type").fill("user.create");
    await expect(page.getByText("No deliveries match these filters.")).toBeVisible();
    await expect(page).toHaveURL(/event_type=user.create/);
    // half-typed, nothing is asked and nothing is refused; the box says what it waits for
    const asked: string[] = [];
    page.on("request", (r) => { if (r.url().includes("/api/deliveries?")) asked.push(r.url()); });
    await page.getByLabel("Event type").fill("order.");
    await expect(page.getByText("Applies once it is a whole type")).toBeVisible();
    await page.waitForTimeout(800);
    expect(asked.filter((url) => url.includes("event_type=order.&") || url.endsWith("event_type=order."))).toEqual([]);
    await expect(page.getByText("invalid fields")).toHaveCount(0);
    // the same patterns as webhooks
    await page.getByLabel("Event type").fill("order.*");
    await expect(page.locator("tr[data-delivery]")).toHaveCount(1);
    await expect(page.getByText("Applies once it is a whole type")).toHaveCount(0);
    // the chart says what it counts when the list is narrowed
    await expect(page.locator(".chart-scope")).toContainText("the filters narrow the list below");
    await snap(page, "logs-filtered");
    // a time range: nothing since tomorrow
    const tomorrow = new Date(Date.now() + 86_400_000);
    const local = `${tomorrow.getFullYear()}-${String(tomorrow.getMonth() + 1).padStart(2, "0")}-${String(tomorrow.getDate()).padStart(2, "0")}T00:00`;
    await page.getByLabel(/^Since/).fill(local);
    await expect(page).toHaveURL(/since=/);
    await expect(page.getByText("No deliveries match these filters.")).toBeVisible();
    await page.getByLabel(/^Since/).fill("");
    await expect(page.locator("tr[data-delivery]")).toHaveCount(1);
    await page.getByRole("button", { name: "Clear filters" }).first().click();
    await expect(page).toHaveURL(/\/logs$/);
    await expect(page.locator("tr[data-delivery]")).toHaveCount(1);

    // the detail: the first attempt failed with 500, the retry succeeded (retry schedule of the e2e server)
    await page.locator("tr[data-delivery]").first().getByRole("link").click();
    await expect(page.getByRole("heading", { name: /order\.create/ })).toBeVisible();
    const attempts = page.locator("details.attempt");
    await expect(attempts).toHaveCount(2, { timeout: 15_000 });
    // newest first, and only the newest open
    await expect(attempts.first()).toContainText("Attempt 2");
    await expect(attempts.first()).toContainText("HTTP 200");
    await expect(attempts.first()).toHaveJSProperty("open", true);
    await expect(attempts.nth(1)).toHaveJSProperty("open", false);
    await expect(attempts.nth(1)).toContainText("HTTP 500");
    // the failure in words, with what to do about it
    await expect(attempts.nth(1)).toContainText("The receiver failed on its side");
    await expect(attempts.nth(1)).toContainText('"total": "9.90"');
    await expect(attempts.nth(1)).toContainText("webhook-signature");
    // a delivery that succeeded offers nothing to recover
    await expect(page.getByRole("button", { name: "Recover" })).toHaveCount(0);

    await page.getByRole("button", { name: "Redeliver" }).click();
    await expect(page.getByRole("status")).toContainText("Redelivery queued");
    await expect(attempts).toHaveCount(3, { timeout: 10_000 });
    // the new attempt comes first, open
    await expect(attempts.first()).toContainText("Attempt 3");
    await expect(attempts.first()).toContainText("succeeded");
    await expect(attempts.first()).toHaveJSProperty("open", true);
    expect(calls).toBe(3);
    await snap(page, "delivery-detail");
    // the request again, by hand
    await attempts.first().getByRole("button", { name: "Copy as curl" }).click();
    const curl = await page.evaluate(() => navigator.clipboard.readText());
    expect(curl).toMatch(/^curl -X POST 'http:\/\/127\.0\.0\.1:\d+\/in'/);
    expect(curl).toContain("-H 'webhook-id: dlv_");
    expect(curl).toContain(`--data-raw '{"data":`);

    // the chart counts the attempts as SVG bars: 2 succeeded, 1 failed
    await page.getByRole("link", { name: "← All deliveries" }).click();
    const chart = page.locator("figure.chart");
    await expect(chart).toContainText("2 succeeded");
    await expect(chart).toContainText("1 failed");
    const heights = await chart
      .locator("rect.bar-ok, rect.bar-failed")
      .evaluateAll((bars) => bars.map((bar) => Number(bar.getAttribute("height"))));
    expect(heights.filter((h) => h > 0).length).toBeGreaterThanOrEqual(1);
    await snap(page, "logs-chart");

    // the Webhooks table shows the recent success rate
    await page.getByRole("link", { name: "Webhooks" }).click();
    await expect(page.locator("tr", { hasText: "Orders" }).locator(".health")).toContainText("67%");
  } finally {
    server.close();
  }
});
