import { expect, test } from "@playwright/test";
import { adminHeaders, clearWebhooks, logIn, snap } from "./helpers";

test.beforeEach(async ({ request }) => clearWebhooks(request));

test("the Webhooks table fits a laptop window with 30 webhooks of realistic event lists", async ({
  page,
  request,
}) => {
  const headers = await adminHeaders(request);
  const events = [
    ["ticket.create", "ticket.update", "ticket.delete"],
    ["incident.*", "change.create", "change.update", "problem.create"],
    ["*"],
    ["cmdb_ci.update", "cmdb_ci.delete", "asset.create", "asset.update", "asset.delete", "user.create"],
  ];
  for (let n = 0; n < 30; n++) {
    const created = await request.post("/api/webhooks", {
      headers,
      data: {
        name: `Mirror to the regional service desk ${n}`,
        url: `https://hooks.example-integration-partner.com/api/v2/inbound/webhooks/${n}?tenant=acme-eu-west`,
        events: events[n % events.length],
        method: n % 3 === 0 ? "PUT" : "POST",
      },
    });
    expect(created.status()).toBe(201);
  }
  await page.setViewportSize({ width: 1280, height: 800 });
  await logIn(page);
  await expect(page.locator("tr[data-webhook]")).toHaveCount(30);
  const widths = () =>
    page.evaluate(() => ({ page: document.documentElement.scrollWidth, window: window.innerWidth }));
  let measured = await widths();
  expect(measured.page, `${measured.page} px in a ${measured.window} px window`).toBeLessThanOrEqual(measured.window);
  // A Test running on a row does not widen it either.
  const row = page.locator("tr[data-webhook]").first();
  await row.getByRole("button", { name: /^Test/ }).click();
  measured = await widths();
  expect(measured.page).toBeLessThanOrEqual(measured.window);
  await expect(row.locator("button", { hasText: "Delete" })).toBeVisible();
  await snap(page, "webhooks-fit-1280");

  // Found by any word of name, URL, events or state.
  await page.getByPlaceholder("name, URL, event or state").fill("cmdb_ci desk");
  await expect(page.locator("tr[data-webhook]")).toHaveCount(7);
  await expect(page.locator("tr[data-webhook]").first()).toContainText("cmdb_ci.update");
  await page.getByPlaceholder("name, URL, event or state").fill("no such thing");
  await expect(page.getByText("No webhook matches “no such thing”.")).toBeVisible();
  await page.getByPlaceholder("name, URL, event or state").fill("");
  await expect(page.locator("tr[data-webhook]")).toHaveCount(30);
});

test("a long list draws its first 50 rows at once; Find reaches the rest and Show all draws them", async ({
  page,
  request,
}) => {
  const headers = await adminHeaders(request);
  for (let n = 0; n < 60; n++) {
    const created = await request.post("/api/webhooks", {
      headers,
      data: { name: `Store ${String(n).padStart(2, "0")}`, url: `https://example.com/stores/${n}`, events: ["order.*"] },
    });
    expect(created.status()).toBe(201);
  }
  await logIn(page);
  const rows = page.locator("tr[data-webhook]");
  await expect(rows).toHaveCount(50);
  const more = page.locator(".list-more");
  await expect(more).toContainText("Showing the first 50 of 60 webhooks: Find narrows them.");
  await snap(page, "webhooks-first-rows");

  // Not drawn, yet found.
  await page.getByPlaceholder("name, URL, event or state").fill("Store 59");
  await expect(rows).toHaveCount(1);
  await expect(more).toHaveCount(0);
  await page.getByPlaceholder("name, URL, event or state").fill("");
  await expect(rows).toHaveCount(50);

  await page.getByRole("button", { name: "Show all 60" }).click();
  await expect(rows).toHaveCount(60);
  await expect(more).toHaveCount(0);
});
