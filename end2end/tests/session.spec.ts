import { expect, test } from "@playwright/test";
import { adminPassword } from "../playwright.config";
import { adminHeaders, logIn } from "./helpers";

test("an ended session sends the reader to log in, then back where they were", async ({ page, request }) => {
  await logIn(page);
  await page.getByRole("navigation", { name: "Toolbox" }).getByRole("link", { name: "Logs" }).click();
  await expect(page).toHaveURL(/\/logs$/);
  await page.getByLabel("Status").selectOption("failed");
  await expect(page).toHaveURL(/status=failed/);

  // the session ends elsewhere (an administrator, an expiry): its token stops working
  const token = await page.evaluate(() => localStorage.getItem("hookhub.token"));
  const ended = await request.delete("/api/session", { headers: { Authorization: `Bearer ${token}` } });
  expect(ended.status()).toBe(204);

  // the page's next call (Logs refreshes every 2 s) finds the session gone
  await expect(page).toHaveURL(/\/login\?expired=1/, { timeout: 10_000 });
  await expect(page.getByRole("status")).toContainText("Your session has expired");
  await expect(page.getByText("Log in again")).toHaveCount(0);
  await page.getByLabel("Password").fill(adminPassword);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/logs\?.*status=failed/);
  await expect(page.getByRole("heading", { name: "Logs" })).toBeVisible();
  await expect(page.locator(".user")).toContainText("admin (admin)");
});

test("a viewer who opens an administrators' page lands on Logs", async ({ page, request }) => {
  const headers = await adminHeaders(request);
  const username = `reader-${Date.now()}`;
  const created = await request.post("/api/users", {
    headers,
    data: { username, password: "reader-password-1", role: "viewer" },
  });
  expect(created.status()).toBe(201);
  await page.goto("/login");
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill("reader-password-1");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByRole("heading", { name: "Logs" })).toBeVisible();
  for (const path of ["/webhooks", "/webhooks/new", "/triggers", "/users"]) {
    await page.goto(path);
    await expect(page).toHaveURL(/\/logs$/);
    await expect(page.getByRole("button", { name: /Create|Add user|Save/ })).toHaveCount(0);
  }
});
