import { expect, test } from "@playwright/test";
import { clearWebhooks, logIn, snap } from "./helpers";

test.beforeEach(async ({ request }) => clearWebhooks(request));

test("a wrong password is refused on the login page", async ({ page }) => {
  await page.goto("/webhooks");
  await expect(page).toHaveURL(/\/login$/);
  await page.getByLabel("Username").fill("admin");
  await page.getByLabel("Password").fill("not the password");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByRole("alert")).toContainText("wrong username or password");
  await snap(page, "login-refused");
});

test("the admin logs in and lands on an empty Toolbox → Webhooks", async ({ page }) => {
  // The console runs under a Content-Security-Policy: nothing it needs is blocked.
  const blocked: string[] = [];
  page.on("console", (message) => {
    if (/Content.Security.Policy/i.test(message.text())) blocked.push(message.text());
  });
  const response = await page.goto("/");
  expect(response?.headers()["content-security-policy"]).toContain("'wasm-unsafe-eval'");
  await logIn(page);
  await expect(page.getByRole("navigation", { name: "Toolbox" })).toContainText("Webhooks");
  await expect(page.getByText("No webhooks yet.")).toBeVisible();
  await expect(page.getByRole("link", { name: "Create Webhook" })).toBeVisible();
  await snap(page, "webhooks-empty");
  expect(blocked).toEqual([]);
});

test("a webhook is created, edited, switched off and deleted", async ({ page, context }) => {
  await context.grantPermissions(["clipboard-read", "clipboard-write"]);
  await logIn(page);

  // create, with every field
  await page.getByRole("link", { name: "Create Webhook" }).click();
  await page.getByLabel("Name", { exact: true }).fill("Orders");
  await page.getByLabel("URL").fill("https://example.com/hooks/orders");
  await page.getByLabel("Method").selectOption("PUT");
  // a module name that cannot head an event type is refused as it is added
  await page.getByPlaceholder("module, e.g. ticket").fill("bad module!");
  await page.getByRole("button", { name: "Add module" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "cannot be a module" })).toBeVisible();
  await page.getByPlaceholder("module, e.g. ticket").fill("ticket");
  await page.getByRole("button", { name: "Add module" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "cannot be a module" })).toHaveCount(0);
  await page.getByRole("checkbox", { name: "ticket create" }).check();
  await page.getByRole("checkbox", { name: "ticket update" }).check();
  // hookhub's own events are not a module of the grid, but checkboxes of their own
  await page.getByPlaceholder("module, e.g. ticket").fill("hookhub");
  await page.getByRole("button", { name: "Add module" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "When hookhub has trouble" })).toBeVisible();
  await expect(page.getByRole("checkbox", { name: "hookhub create" })).toHaveCount(0);
  await page.getByRole("checkbox", { name: "A delivery failed for good" }).check();
  await page.getByLabel("Other event types").fill("weather.report");
  await page.getByLabel("Authentication type").selectOption("basic");
  await page.getByLabel("Username").fill("hook-user");
  await page.getByLabel("Password").fill("hook-password-123");
  await page.getByLabel("Data location").fill("root/result");
  await page.getByRole("button", { name: "Add header" }).click();
  await page.getByLabel("Header name").fill("X-Team");
  await page.getByLabel("Header value").fill("billing");
  await snap(page, "webhook-form-filled");
  await page.getByRole("button", { name: "Save" }).click();

  // it is in the table
  const row = page.locator("tr", { hasText: "Orders" });
  await expect(row).toBeVisible();
  await expect(row).toContainText("https://example.com/hooks/orders");
  await expect(row).toContainText("ticket.create");
  await expect(row).toContainText("ticket.update");
  await expect(row).toContainText("weather.report");
  await expect(row).toContainText("hookhub.delivery_failed");
  await expect(row).toContainText("PUT");
  await expect(row.getByRole("switch")).toBeChecked();
  await expect(page.locator("body")).not.toContainText("hook-password-123");
  await snap(page, "webhooks-table");

  // edit: the form comes back filled, the password only as "set"
  await row.getByRole("link", { name: "Orders", exact: true }).click();
  await expect(page.getByLabel("Name", { exact: true })).toHaveValue("Orders");
  await expect(page.getByRole("checkbox", { name: "ticket update" })).toBeChecked();
  await expect(page.getByRole("checkbox", { name: "A delivery failed for good" })).toBeChecked();
  await expect(page.getByRole("checkbox", { name: "A webhook was switched off" })).not.toBeChecked();
  await expect(page.getByLabel("Other event types")).toHaveValue("weather.report");
  await expect(page.getByLabel("Data location")).toHaveValue("root/result");
  // a header's value is hidden like a credential, shown on demand
  await expect(page.getByLabel("Header value")).toHaveValue("");
  await expect(page.getByLabel("Header value")).toHaveAttribute("placeholder", /stored/);
  await expect(page.locator("body")).not.toContainText("billing");
  await page.getByRole("button", { name: "Show value" }).click();
  await expect(page.getByLabel("Header value")).toHaveValue("billing");
  await expect(page.getByLabel("Password")).toHaveValue("");
  await expect(page.getByLabel("Password")).toHaveAttribute("placeholder", /set/);

  // the signing secret, on demand, with copy
  await page.getByRole("button", { name: "Reveal secret" }).click();
  const secret = page.locator(".secret-value");
  await expect(secret).toContainText("whsec_");
  await page.getByRole("button", { name: "Copy signing secret" }).click();
  await expect(page.getByRole("button", { name: "Copy signing secret" })).toHaveText("Copied");
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(await secret.textContent());
  await snap(page, "webhook-edit");

  await page.getByLabel("Name", { exact: true }).fill("Orders (EU)");
  await page.getByRole("checkbox", { name: "ticket update" }).uncheck();
  await page.getByRole("button", { name: "Save" }).click();
  const edited = page.locator("tr", { hasText: "Orders (EU)" });
  await expect(edited).toBeVisible();
  await expect(edited).not.toContainText("ticket.update");

  // switch it off in its row; it stays off after a reload
  const saved = page.waitForResponse((r) => r.request().method() === "PATCH" && r.status() === 204);
  await edited.getByRole("switch").uncheck();
  await saved;
  await page.reload();
  await expect(page.locator("tr", { hasText: "Orders (EU)" }).getByRole("switch")).not.toBeChecked();
  await snap(page, "webhooks-switched-off");

  // delete asks first; Cancel keeps it, Delete removes it
  await page.locator("tr", { hasText: "Orders (EU)" }).getByRole("button", { name: "Delete" }).click();
  const dialog = page.getByRole("alertdialog");
  await expect(dialog).toContainText("Delete “Orders (EU)”?");
  await snap(page, "webhook-delete-confirm");
  await dialog.getByRole("button", { name: "Cancel" }).click();
  await expect(page.locator("tr", { hasText: "Orders (EU)" })).toBeVisible();
  await page.locator("tr", { hasText: "Orders (EU)" }).getByRole("button", { name: "Delete" }).click();
  await page.getByRole("alertdialog").getByRole("button", { name: "Delete" }).click();
  await expect(page.locator("tr", { hasText: "Orders (EU)" })).toHaveCount(0);
  await expect(page.getByText("No webhooks yet.")).toBeVisible();
});

test("a bad URL is explained next to the URL field", async ({ page }) => {
  await logIn(page);
  await page.getByRole("link", { name: "Create Webhook" }).click();
  await page.getByLabel("Name", { exact: true }).fill("Broken");
  await page.getByLabel("URL").fill("not a url");
  await page.getByRole("button", { name: "Save" }).click();
  const error = page.locator('.field-error[data-field="url"]');
  await expect(error).toContainText("must be a full address starting with http:// or https://");
  // tied to its input, which has the focus after the failed Save
  await expect(page.getByLabel("URL")).toHaveAttribute("aria-invalid", "true");
  await expect(page.getByLabel("URL")).toHaveAttribute("aria-describedby", /error-url/);
  await expect(page.getByLabel("URL")).toBeFocused();
  await expect(page.locator('.field-error[data-field="name"]')).toHaveCount(0);
  // the error sits right under the URL input
  const inputBox = await page.getByLabel("URL").boundingBox();
  const errorBox = await error.boundingBox();
  expect(errorBox!.y).toBeGreaterThan(inputBox!.y);
  expect(errorBox!.y - (inputBox!.y + inputBox!.height)).toBeLessThan(30);
  await snap(page, "webhook-bad-url");
  // unsaved changes: Cancel asks first; staying keeps them
  page.once("dialog", (dialog) => {
    expect(dialog.message()).toContain("Leave without saving?");
    void dialog.dismiss();
  });
  await page.getByRole("link", { name: "Cancel" }).click();
  await expect(page.getByLabel("URL")).toHaveValue("not a url");
  page.once("dialog", (dialog) => void dialog.accept());
  await page.getByRole("link", { name: "Cancel" }).click();
  await expect(page.getByText("No webhooks yet.")).toBeVisible();
});

test("the delete dialog starts on Cancel, keeps the keyboard inside, and Escape gives the focus back", async ({
  page,
}) => {
  await logIn(page);
  await page.getByRole("link", { name: "Create Webhook" }).click();
  await page.getByLabel("Name", { exact: true }).fill("Keyboard");
  await page.getByLabel("Other event types").fill("keyboard.pressed");
  await page.getByLabel("URL").fill("https://example.com/k");
  await page.getByLabel("URL").press("Enter");
  const row = page.locator("tr", { hasText: "Keyboard" });
  await row.getByRole("button", { name: "Delete" }).focus();
  await page.keyboard.press("Enter");
  const dialog = page.getByRole("alertdialog");
  await expect(dialog).toBeVisible();
  const cancel = dialog.getByRole("button", { name: "Cancel" });
  const confirm = dialog.getByRole("button", { name: "Delete" });
  await expect(cancel).toBeFocused();
  // Tab and Shift+Tab go round the dialog's buttons, never out of it
  await page.keyboard.press("Tab");
  await expect(confirm).toBeFocused();
  await page.keyboard.press("Tab");
  await expect(cancel).toBeFocused();
  await page.keyboard.press("Shift+Tab");
  await expect(confirm).toBeFocused();
  await snap(page, "webhook-delete-keyboard");
  await page.keyboard.press("Escape");
  await expect(dialog).toHaveCount(0);
  await expect(row).toBeVisible();
  await expect(row.getByRole("button", { name: "Delete Keyboard" })).toBeFocused();
});

test("the form previews the request a sample event would produce, as it is edited", async ({ page }) => {
  await logIn(page);
  await page.getByRole("link", { name: "Create Webhook" }).click();
  const preview = page.getByRole("complementary", { name: "Request preview" });
  await expect(preview).toContainText("Fix these fields to see the request: Name, URL");
  await page.getByLabel("Name", { exact: true }).fill("Preview");
  await page.getByLabel("URL").fill("https://example.com/preview");
  await expect(preview).toContainText("POST https://example.com/preview");
  await expect(preview).toContainText("webhook-signature");
  await expect(preview).toContainText('"type": "object.update"');

  await page.getByLabel("Method").selectOption("PATCH");
  await page.getByLabel("Authentication type").selectOption("bearer");
  await page.getByLabel("Token").fill("preview-token-value");
  await page.getByLabel("Data location").fill("root/result");
  await expect(preview).toContainText("PATCH https://example.com/preview");
  await expect(preview).toContainText("Bearer ***");
  await expect(preview).toContainText('"root": {');
  await expect(preview).not.toContainText("preview-token-value");
  await snap(page, "webhook-form-preview");
});
