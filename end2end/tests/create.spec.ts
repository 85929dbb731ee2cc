import { expect, test } from "@playwright/test";
import { adminHeaders, clearWebhooks, logIn, snap } from "./helpers";

test.beforeEach(async ({ request }) => clearWebhooks(request));

test("a new webhook starts without a module, needs an event, is pointed out once saved, and tests from its page", async ({
  page,
  request,
}) => {
  // Other webhooks' modules are suggestions, not a row of the new one's grid.
  const headers = await adminHeaders(request);
  for (let n = 0; n < 12; n++) {
    const other = await request.post("/api/webhooks", {
      headers,
      data: { name: `Article feed ${n}`, url: `https://example.com/articles/${n}`, events: ["article.create"] },
    });
    expect(other.status()).toBe(201);
  }
  await logIn(page);
  await page.getByRole("link", { name: "Create Webhook" }).click();
  await expect(page.getByRole("checkbox", { name: "article create" })).toHaveCount(0);
  await expect(page.getByText("Add the module whose events fire this webhook")).toBeVisible();

  await page.getByLabel("Name", { exact: true }).fill("Zz ticket mirror");
  await page.getByLabel("URL").fill("http://127.0.0.1:9/tickets");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.locator('.field-error[data-field="events"]')).toContainText("never fires");
  await snap(page, "webhook-form-no-events");

  await page.getByPlaceholder("module, e.g. ticket").fill("ticket");
  await page.getByRole("button", { name: "Add module" }).click();
  await page.getByRole("checkbox", { name: "ticket create" }).check();
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page).toHaveURL(/\/webhooks\?saved=wh_/);
  const saved = page.locator("tr.just-saved");
  await expect(saved).toHaveCount(1);
  await expect(saved).toContainText("Zz ticket mirror");
  await expect(saved).toBeInViewport();
  await snap(page, "webhooks-just-saved");

  // Its page tests it too.
  await saved.getByRole("link", { name: "Edit Zz ticket mirror" }).click();
  await page.getByRole("button", { name: "Test", exact: true }).click();
  await expect(page.getByRole("status").filter({ hasText: "Test failed" })).toContainText("connection refused");
  await expect(page.getByText("Nothing listens at that host and port")).toBeVisible();
});
