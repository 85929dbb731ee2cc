import { expect, test } from "@playwright/test";
import { accessible, adminHeaders, clearWebhooks, logIn, snap } from "./helpers";

test.beforeEach(async ({ request }) => clearWebhooks(request));

test("a filter is checked as it is typed against the preview's sample event, a rate limit is a whole number, a retry schedule says its span, and all save only when valid", async ({
  page,
  request,
}) => {
  const headers = await adminHeaders(request);
  const created = await request.post("/api/webhooks", {
    headers,
    data: { name: "Pager", url: "https://pager.example/in", events: ["ticket.*"] },
  });
  expect(created.status()).toBe(201);
  const id = (await created.json()).data.id;

  await logIn(page);
  await page.goto(`/webhooks/${id}`);
  const filter = page.getByLabel("Filter");
  const check = page.locator("#filter-check");

  await filter.fill('{"data.status": ');
  await expect(check).toContainText("The filter is not JSON yet");
  // The sample of ticket.* is a ticket.update that closed the ticket.
  await filter.fill('{"type": "ticket.update", "data.status": "closed"}');
  await expect(check).toContainText("passes this filter");
  await filter.fill('{"data.status": "open"}');
  await expect(check).toContainText("does not pass this filter");
  await filter.fill('{"data.status": {"$like": "o%"}}');
  await expect(check).toContainText("refused: at data.status.$like");
  await snap(page, "webhook-filter-refused");

  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.locator('.field-error[data-field="filter"]')).toContainText("data.status.$like");
  await filter.fill('{"data.priority": {"$in": ["P1", "P2"]}}');
  await expect(check).toContainText("does not pass this filter");
  await expect(page.locator('.field-error[data-field="filter"]')).toHaveCount(0);
  await snap(page, "webhook-filter");
  await accessible(page, "webhook-filter");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page).toHaveURL(/\/webhooks\?saved=wh_/);
  const stored = await (await request.get(`/api/webhooks/${id}`, { headers })).json();
  expect(stored.data.filter).toEqual({ "data.priority": { $in: ["P1", "P2"] } });

  // A rate limit is a whole number, said next to its field.
  await page.goto(`/webhooks/${id}`);
  await page.getByLabel("Rate limit").fill("fast");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.locator('.field-error[data-field="rate_limit"]')).toContainText("whole number");
  await page.getByLabel("Rate limit").fill("20000");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.locator('.field-error[data-field="rate_limit"]')).toContainText("10000");
  await page.getByLabel("Rate limit").fill("5");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page).toHaveURL(/\/webhooks\?saved=wh_/);
  expect((await (await request.get(`/api/webhooks/${id}`, { headers })).json()).data.rate_limit).toBe(5);

  // Its own retry schedule, with the span it gives said as it is typed.
  await page.goto(`/webhooks/${id}`);
  await page.getByLabel("Retry schedule").fill("10s, 1m, 1h");
  await expect(page.locator("#retry-schedule-hint")).toContainText("tried for 1 h 1 min 10 s in all");
  await page.getByLabel("Retry schedule").fill("10s, 5d");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.locator('.field-error[data-field="retry_schedule"]')).toContainText("step 2");
  await page.getByLabel("Retry schedule").fill("30s, 5m");
  await expect(page.locator('.field-error[data-field="retry_schedule"]')).toHaveCount(0);
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page).toHaveURL(/\/webhooks\?saved=wh_/);
  expect((await (await request.get(`/api/webhooks/${id}`, { headers })).json()).data.retry_schedule).toEqual(["30s", "5m"]);

  // Emptied, it is cleared.
  await page.goto(`/webhooks/${id}`);
  await expect(page.getByLabel("Filter")).toHaveValue(/"\$in"/);
  await page.getByLabel("Filter").fill("");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page).toHaveURL(/\/webhooks\?saved=wh_/);
  const cleared = await (await request.get(`/api/webhooks/${id}`, { headers })).json();
  expect(cleared.data.filter).toBeNull();
});
