import AxeBuilder from "@axe-core/playwright";
import { type APIRequestContext, expect, type Page } from "@playwright/test";
import { adminPassword } from "../playwright.config";

export async function logIn(page: Page) {
  await page.goto("/login");
  await page.getByLabel("Username").fill("admin");
  await page.getByLabel("Password").fill(adminPassword);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByRole("heading", { name: "Webhooks" })).toBeVisible();
}

/** Saves a full-page screenshot under end2end/screenshots/ for people to look at. */
export async function snap(page: Page, name: string) {
  await page.screenshot({ path: `screenshots/${name}.png`, fullPage: true });
}

/** Authorization headers of a fresh admin session, for API calls from a test. */
export async function adminHeaders(request: APIRequestContext) {
  const session = await request.post("/api/session", {
    data: { username: "admin", password: adminPassword },
  });
  const { token } = (await session.json()).data;
  return { Authorization: `Bearer ${token}` };
}

/** Deletes every webhook through the API, so that a test starts from an empty table. */
export async function clearWebhooks(request: APIRequestContext) {
  const headers = await adminHeaders(request);
  const list = await (await request.get("/api/webhooks?limit=1000", { headers })).json();
  for (const webhook of list.data) {
    const deleted = await request.delete(`/api/webhooks/${webhook.id}`, { headers });
    expect(deleted.status()).toBe(204);
  }
}

/** Fails on any serious or critical accessibility violation axe-core finds. */
export async function accessible(page: Page, name: string) {
  await page.waitForLoadState("networkidle");
  await expect(page.locator(".loading")).toHaveCount(0);
  const results = await new AxeBuilder({ page }).analyze();
  const grave = results.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  expect(grave, `${name}:\n${grave.join("\n")}`).toEqual([]);
}
