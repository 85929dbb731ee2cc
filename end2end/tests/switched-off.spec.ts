import { expect, test } from "@playwright/test";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { accessible, adminHeaders, clearWebhooks, logIn, snap } from "./helpers";

test.beforeEach(async ({ request }) => clearWebhooks(request));

test("a webhook hookhub switched off says why, what waits, and comes back with Enable", async ({
  page,
  request,
}) => {
  // A receiver that is gone (410), until it is back.
  let status = 410;
  const received: number[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      const event = JSON.parse(body);
      if (status === 200 && event.type === "order.create") received.push(event.data.n);
      res.writeHead(status, { "content-type": "application/json" });
      res.end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/in`;
  try {
    const headers = await adminHeaders(request);
    const created = await request.post("/api/webhooks", {
      headers,
      data: { name: "Order mirror", url, events: ["order.*"] },
    });
    expect(created.status()).toBe(201);
    const id = (await created.json()).data.id as string;
    const publish = (n: number) =>
      request.post("/api/events", { headers, data: { type: "order.create", data: { n } } });
    expect((await publish(0)).status()).toBe(202);
    await expect
      .poll(async () => {
        const webhook = await (await request.get(`/api/webhooks/${id}`, { headers })).json();
        return webhook.data.health.disabled_reason;
      })
      .toBe("the receiver answered 410 Gone");
    // Published while it is off: they wait, paused.
    expect((await publish(1)).status()).toBe(202);
    expect((await publish(2)).status()).toBe(202);

    await logIn(page);
    const notice = page.getByRole("region", { name: "“Order mirror” is switched off" });
    await expect(notice).toContainText("hookhub switched it off: the receiver answered 410 Gone");
    await expect(notice).toContainText("since");
    await expect(notice).toContainText("2 deliveries wait, paused");
    await expect(notice).toContainText("hookhub tries it again");
    // The sidebar counts it, and the delivery the 410 failed.
    const sidebar = page.getByRole("navigation", { name: "Toolbox" });
    await expect(sidebar.getByLabel("1 switched off by hookhub")).toBeVisible();
    await expect(sidebar.getByLabel("1 failed in the last 24 hours")).toBeVisible();
    await snap(page, "webhooks-switched-off");
    await accessible(page, "the Webhooks page with a notice");

    // What waits, in Logs, under its own status.
    await notice.getByRole("link", { name: "Paused deliveries" }).click();
    await expect(page.locator("tr[data-delivery]")).toHaveCount(2);
    await expect(page.locator("tr[data-delivery] .status-paused")).toHaveCount(2);
    await expect(page.getByRole("combobox").filter({ hasText: "Any status" })).toHaveValue(
      "paused",
    );
    await page.goBack();

    // Still gone: Enable tests first, and keeps it off rather than fail what waits.
    await expect(notice).toContainText("Enable sends a test first");
    await notice.getByRole("button", { name: "Enable Order mirror" }).click();
    const failed = notice.getByRole("alert");
    await expect(failed).toContainText("The test failed: HTTP 410");
    await expect(failed).toContainText("the 2 paused deliveries keep waiting");
    await expect(failed.getByRole("button", { name: "Enable anyway" })).toBeVisible();
    await snap(page, "webhooks-enable-test-failed");
    await accessible(page, "the notice with a failed test");
    expect(received).toEqual([]);
    // The row's switch tests first too, and stays off.
    const offRow = page.locator("tr[data-webhook]", { hasText: "Order mirror" });
    await offRow.getByRole("switch").click();
    await expect(page.locator("tr.test-result")).toContainText("HTTP 410");
    await expect(offRow.getByRole("switch")).not.toBeChecked();
    expect(received).toEqual([]);

    // The receiver is back: Enable sends what waited, oldest first.
    status = 200;
    await notice.getByRole("button", { name: "Enable Order mirror" }).click();
    await expect(notice).toHaveCount(0);
    await expect.poll(() => received.length).toBe(2);
    expect(received.sort()).toEqual([1, 2]);
    const row = page.locator("tr[data-webhook]", { hasText: "Order mirror" });
    await expect(row.getByRole("switch")).toBeChecked();
    // A moment later the page has seen them delivered.
    await expect(row).toContainText("Healthy");
    await expect(sidebar.getByLabel(/switched off by hookhub/)).toHaveCount(0);
    await snap(page, "webhooks-enabled-again");
  } finally {
    server.close();
  }
});
