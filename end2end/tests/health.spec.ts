import { expect, test } from "@playwright/test";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { adminHeaders, clearWebhooks, logIn, snap } from "./helpers";

test.beforeEach(async ({ request }) => clearWebhooks(request));

// A reader in Berlin: every time shows in that zone, and says so.
test.use({ timezoneId: "Europe/Berlin" });

test("a failing webhook is impossible to miss, and times are in the reader's zone", async ({
  page,
  request,
}) => {
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const up = `http://127.0.0.1:${(server.address() as AddressInfo).port}/in`;
  try {
    const headers = await adminHeaders(request);
    const create = async (data: object) => {
      const created = await request.post("/api/webhooks", { headers, data });
      expect(created.status()).toBe(201);
      return (await created.json()).data.id as string;
    };
    await create({ name: "Healthy CRM sync", url: up, events: ["health.*"] });
    // Port 9 on 127.0.0.1: nobody listens, connections are refused.
    const refused = await create({
      name: "Refused ticket mirror",
      url: "http://127.0.0.1:9/in",
      events: ["health.*"],
    });
    await create({ name: "Quiet webhook", url: up, events: ["other.*"] });
    await create({ name: "Paused by hand", url: up, events: ["health.*"], active: false });
    const published = await request.post("/api/events", {
      headers,
      data: { type: "health.check", data: { n: 1 } },
    });
    expect(published.status()).toBe(202);
    // Both attempts recorded before the page is looked at.
    await expect
      .poll(async () => {
        const list = await (await request.get("/api/webhooks", { headers })).json();
        return list.data.map((w: { health: { state: string } }) => w.health.state).sort();
      })
      .toEqual(["disabled", "failing", "healthy", "never_called"]);

    await logIn(page);
    const row = (name: string) => page.locator("tr[data-webhook]", { hasText: name });
    await expect(row("Refused ticket mirror")).toHaveAttribute("data-health", "failing");
    await expect(row("Refused ticket mirror")).toContainText("Failing");
    await expect(row("Refused ticket mirror")).toContainText("connection refused");
    await expect(row("Healthy CRM sync")).toContainText("Healthy");
    await expect(row("Healthy CRM sync")).toContainText("100% succeeded");
    await expect(row("Quiet webhook")).toContainText("Never called");
    await expect(row("Paused by hand")).toContainText("Off");
    await expect(row("Paused by hand")).toContainText("Switched off by an administrator");

    // the last attempt: relative, with the absolute time and Berlin's zone on hover
    const last = row("Refused ticket mirror").locator("time");
    await expect(last).toHaveText(/just now|min ago/);
    await expect(last).toHaveAttribute("datetime", /Z$/);
    await expect(last).toHaveAttribute("title", /CET|GMT\+1/);
    await snap(page, "webhooks-health");

    // the Edit page: the same health, and the recent deliveries, each opening its detail
    await page.goto(`/webhooks/${refused}`);
    await expect(page.getByRole("region", { name: "Health" })).toContainText("Failing");
    const recent = page.locator("ul.recent li");
    await expect(recent).toHaveCount(1);
    await expect(recent.first()).toContainText("connection refused");
    await snap(page, "webhook-edit-health");
    await recent.first().getByRole("link", { name: "health.check" }).click();
    await expect(page.getByRole("heading", { name: /health\.check/ })).toBeVisible();
    await expect(page.locator("dl.facts")).toContainText("Refused ticket mirror");
    // the Logs badge leads to what it counts: the failed deliveries of the last day
    // (counted on each page change: the delivery queued again by Recover fails anew meanwhile)
    const badge = page.getByRole("navigation", { name: "Toolbox" }).getByRole("link", { name: /failed in the last 24 hours/ });
    await expect(async () => {
      await page.reload();
      await expect(badge).toBeVisible({ timeout: 1_000 });
    }).toPass({ timeout: 15_000 });
    await badge.click();
    await expect(page).toHaveURL(/status=failed/);
    await expect(page).toHaveURL(/since=/);
    await expect(page.getByLabel("Status")).toHaveValue("failed");
    await expect(page.locator("tr[data-delivery] .status-failed").first()).toBeVisible();

    // Logs: names, the result in words, and the reader's zone on the recover form
    await page.goto(`/logs?webhook_id=${refused}`);
    const delivery = page.locator("tr[data-delivery]").first();
    await expect(delivery).toContainText("Refused ticket mirror");
    await expect(delivery.locator("td.result")).toHaveText("connection refused");
    await expect(page.getByLabel(/Recover failed since \(Europe\/Berlin\)/)).toBeVisible();

    // Recover says how many it will queue, and asks first
    await expect
      .poll(async () => {
        const list = await (
          await request.get(`/api/deliveries?webhook_id=${refused}&status=failed`, { headers })
        ).json();
        return list.data.length;
      }, { timeout: 15_000 })
      .toBe(1);
    await page.getByLabel(/Recover failed since/).fill("2020-01-01T00:00");
    await page.getByRole("button", { name: "Recover" }).click();
    const dialog = page.getByRole("alertdialog");
    await expect(dialog).toContainText("Queue 1 failed delivery to Refused ticket mirror again?");
    // Escape closes the question and gives the focus back to Recover
    await page.keyboard.press("Escape");
    await expect(dialog).toHaveCount(0);
    await expect(page.getByRole("button", { name: "Recover" })).toBeFocused();
    await page.getByRole("button", { name: "Recover" }).click();
    await expect(dialog).toContainText("Queue 1 failed delivery to Refused ticket mirror again?");
    await snap(page, "recover-confirm");
    await dialog.getByRole("button", { name: "Queue again" }).click();
    await expect(page.getByRole("status")).toContainText("1 failed delivery queued again");

    // the delivery itself: the failure in words and what to do, the raw error as a detail
    await delivery.getByRole("link").first().click();
    const attempt = page.locator("details.attempt").first();
    await expect(attempt.locator("summary")).toContainText("connection refused");
    await expect(attempt).toContainText("Nothing listens at that host and port");
    await expect(attempt.locator(".error-detail")).toContainText("os error 111");
    await snap(page, "delivery-refused-in-words");
  } finally {
    server.close();
  }
});
