import { expect, test } from "@playwright/test";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { logIn, snap } from "./helpers";

/** A real receiver on 127.0.0.1 that answers `status` with `body` and remembers what came. */
async function receiver(status: number, body: string) {
  const received: { headers: IncomingMessage["headers"]; body: string }[] = [];
  const server: Server = createServer((req, res) => {
    let data = "";
    req.on("data", (chunk) => (data += chunk));
    req.on("end", () => {
      received.push({ headers: req.headers, body: data });
      res.writeHead(status, { "content-type": "application/json" });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return { url, received, close: () => server.close() };
}

test("Test in a row shows what the receiver answered", async ({ page }) => {
  const ok = await receiver(200, '{"received": true, "by": "e2e receiver"}');
  const down = await receiver(503, "maintenance");
  try {
    await logIn(page);
    for (const [name, url] of [["Answers", ok.url], ["Down", down.url]]) {
      await page.getByRole("link", { name: "Create Webhook" }).click();
      await page.getByLabel("Name", { exact: true }).fill(name);
      await page.getByLabel("URL").fill(url);
      await page.getByLabel("Other event types").fill("ping.sent");
      await page.getByRole("button", { name: "Save" }).click();
      await expect(page.locator("tr", { hasText: name })).toBeVisible();
    }

    await page.locator("tr", { hasText: "Answers" }).getByRole("button", { name: "Test" }).click();
    const delivered = page.locator(".test-outcome").first();
    await expect(delivered).toContainText("Test delivered");
    await expect(delivered).toContainText("HTTP 200");
    await expect(delivered).toContainText(/\d+ ms/);
    await expect(delivered).toContainText('"by": "e2e receiver"');
    expect(ok.received).toHaveLength(1);
    expect(JSON.parse(ok.received[0].body).type).toBe("webhook.test");
    expect(ok.received[0].headers["webhook-signature"]).toMatch(/^v1,/);

    await page.locator("tr", { hasText: "Down" }).getByRole("button", { name: "Test" }).click();
    const failed = page.locator(".test-outcome", { hasText: "Test failed" });
    await expect(failed).toContainText("HTTP 503");
    await expect(failed).toContainText("maintenance");
    await snap(page, "webhooks-test-results");

    // switching a webhook off saves it and keeps the Test results open
    const answers = page.locator("tr[data-webhook]", { hasText: "Answers" });
    await answers.getByRole("switch").uncheck();
    await expect(answers).toHaveAttribute("data-health", "disabled");
    await expect(answers.getByRole("switch")).not.toBeChecked();
    await expect(page.locator(".test-outcome", { hasText: "Test delivered" })).toBeVisible();
    await expect(failed).toContainText("HTTP 503");
  } finally {
    ok.close();
    down.close();
  }
});
