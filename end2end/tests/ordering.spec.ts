import { expect, test } from "@playwright/test";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { accessible, adminHeaders, clearWebhooks, logIn, snap } from "./helpers";

test.beforeEach(async ({ request }) => clearWebhooks(request));

test("a delivery waiting for its turn names the delivery of its key that goes first, and links to it", async ({
  page,
  request,
}) => {
  // a real receiver that is down for now: the key's first delivery waits for its retry
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(503);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/tickets`;
  try {
    const headers = await adminHeaders(request);
    const created = await request.post("/api/webhooks", {
      headers,
      data: { name: "Tickets", url, events: ["ticket.*"], retry_schedule: ["1h"] },
    });
    expect(created.status()).toBe(201);
    const webhookId = (await created.json()).data.id;
    const deliveryOf = async (n: number) => {
      const published = await request.post("/api/events", {
        headers,
        data: { type: "ticket.update", data: { id: 42, n }, ordering_key: "ticket/42" },
      });
      expect(published.status()).toBe(202);
      const eventId = (await published.json()).data.id;
      const found = await (await request.get(`/api/deliveries?search=${eventId}`, { headers })).json();
      return found.data[0].id as string;
    };
    const head = await deliveryOf(1);
    const waiting = await deliveryOf(2);

    await logIn(page);
    await page.goto(`/logs?webhook_id=${webhookId}`);
    const rows = page.locator("tr[data-delivery]");
    await expect(rows).toHaveCount(2);
    // every delivery shows its key; the waiting one says what it waits for
    await expect(rows.filter({ hasText: "ticket/42" })).toHaveCount(2);
    const waitingRow = page.locator(`tr[data-delivery="${waiting}"]`);
    await expect(waitingRow).toContainText(`Waits for dlv_…${head.slice(-8)} of ticket/42`);
    await expect(page.locator(`tr[data-delivery="${head}"]`)).not.toContainText("Waits for");
    await snap(page, "logs-ordering-key");

    // the link leads to the delivery that goes first
    await waitingRow.getByRole("link", { name: `dlv_…${head.slice(-8)}` }).click();
    await expect(page).toHaveURL(new RegExp(`/logs/${head}$`));
    await expect(page.locator("dl.facts")).toContainText("Ordering key");
    await expect(page.locator("dl.facts")).toContainText("ticket/42");
    await expect(page.locator("p.waiting")).toHaveCount(0);

    // the waiting one's page says so in words, and can still be sent at once by hand
    await page.goto(`/logs/${waiting}`);
    const note = page.locator("p.waiting");
    await expect(note).toContainText(`Waits for dlv_…${head.slice(-8)} of ticket/42`);
    await expect(note).toContainText("one at a time, in the order their events were accepted");
    await accessible(page, "delivery waiting for its turn");
    await snap(page, "delivery-waiting");
    await page.getByRole("button", { name: "Redeliver" }).click();
    await expect(page.getByText("Redelivery queued.")).toBeVisible();
    await expect(page.locator("details.attempt")).toHaveCount(1, { timeout: 15_000 });
    await expect(page.locator("p.waiting")).toHaveCount(0);
  } finally {
    server.close();
  }
});
