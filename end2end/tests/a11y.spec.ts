import { expect, test } from "@playwright/test";
import { accessible, adminHeaders, clearWebhooks, logIn, snap } from "./helpers";

test.beforeEach(async ({ request }) => clearWebhooks(request));

test("every page and dialog passes axe-core, and says which page it is", async ({ page, request }) => {
  const headers = await adminHeaders(request);
  const created = await request.post("/api/webhooks", {
    headers,
    data: { name: "Accessible CRM sync", url: "http://127.0.0.1:9/in", events: ["a11y.*"] },
  });
  expect(created.status()).toBe(201);
  const webhook = (await created.json()).data.id;
  const trigger = await request.post("/api/triggers", {
    headers,
    data: { name: `A11y trigger ${Date.now()}`, method: "POST", auth: { type: "bearer" } },
  });
  expect(trigger.status()).toBe(201);
  const triggerId = (await trigger.json()).data.id;
  const published = await request.post("/api/events", { headers, data: { type: "a11y.check", data: {} } });
  expect(published.status()).toBe(202);
  const delivery = (await (await request.get("/api/deliveries?limit=1", { headers })).json()).data[0].id;

  try {
    await page.goto("/login");
    await expect(page).toHaveTitle("Log in · hookhub");
    await accessible(page, "login");

    await logIn(page);
    await expect(page).toHaveTitle("Webhooks · hookhub");
    await accessible(page, "webhooks");
    const nav = page.getByRole("navigation", { name: "Toolbox" });
    await expect(nav.locator("[aria-current]")).toHaveCount(1);
    await expect(nav.getByRole("link", { name: "Webhooks" })).toHaveAttribute("aria-current", "page");

    await page.getByRole("button", { name: "Delete Accessible CRM sync" }).click();
    await expect(page.getByRole("alertdialog")).toBeVisible();
    await accessible(page, "delete dialog");
    await page.keyboard.press("Escape");

    const pages: [string, string][] = [
      [`/webhooks/${webhook}`, "Edit Webhook"],
      ["/webhooks/new", "Create Webhook"],
      ["/logs", "Logs"],
      [`/logs/${delivery}`, "Delivery"],
      ["/triggers", "Triggers"],
      [`/triggers/${triggerId}`, "Edit Trigger"],
      ["/triggers/new", "Create Trigger"],
      ["/users", "Users"],
    ];
    for (const [path, title] of pages) {
      await page.goto(path);
      await expect(page).toHaveTitle(`${title} · hookhub`);
      await accessible(page, title);
      // every page at desktop width, beside the phone ones (phone.spec.ts)
      await snap(page, `desktop-${title.toLowerCase().replace(/ /g, "-")}`);
    }
    // on a page below a section, no sidebar link claims to be the current page
    await page.goto(`/webhooks/${webhook}`);
    await expect(nav.locator("[aria-current]")).toHaveCount(0);

    await page.goto(`/triggers/${triggerId}`);
    await page.getByRole("button", { name: "Generate Token" }).click();
    await expect(page.locator(".token-value")).toBeVisible();
    await page.getByRole("button", { name: "Generate Token" }).click();
    await expect(page.getByRole("alertdialog")).toContainText("Replace the token");
    await accessible(page, "replace token dialog");
    await snap(page, "trigger-replace-token");
    await page.getByRole("alertdialog").getByRole("button", { name: "Cancel" }).click();
  } finally {
    await request.delete(`/api/triggers/${triggerId}`, { headers });
  }
});

test("the login page starts in the username, and a skip link leads past the sidebar", async ({ page }) => {
  await page.goto("/login");
  await expect(page.getByLabel("Username")).toBeFocused();
  await logIn(page);
  await page.locator("body").focus();
  await page.keyboard.press("Tab");
  const skip = page.getByRole("link", { name: "Skip to content" });
  await expect(skip).toBeFocused();
  await expect(skip).toBeVisible();
  await snap(page, "skip-link");
  await page.keyboard.press("Enter");
  await expect(page.locator("main#content")).toBeFocused();
});

test("a webhook row is four stops of the Tab key; the arrows move between its buttons", async ({ page, request }) => {
  await clearWebhooks(request);
  const headers = await adminHeaders(request);
  for (const name of ["First row", "Second row"]) {
    const created = await request.post("/api/webhooks", {
      headers,
      data: { name, url: "https://example.com/rows", events: ["row.*"] },
    });
    expect(created.status()).toBe(201);
  }
  await logIn(page);
  const first = page.locator("tr[data-webhook]", { hasText: "First row" });
  await first.getByRole("link", { name: "First row", exact: true }).focus();
  const stops = [];
  for (let n = 0; n < 4; n++) {
    await page.keyboard.press("Tab");
    stops.push(await page.evaluate(() => document.activeElement?.getAttribute("aria-label") ?? document.activeElement?.textContent));
  }
  expect(stops).toEqual(["Copy URL", "Active: First row", "Edit First row", "Second row"]);
  // Back in the row's toolbar: the arrows, Home and End move within it.
  await first.getByRole("link", { name: "Edit First row" }).focus();
  await page.keyboard.press("ArrowRight");
  await expect(first.getByRole("button", { name: "Delete First row" })).toBeFocused();
  await page.keyboard.press("ArrowRight");
  await expect(first.getByRole("button", { name: "Test First row" })).toBeFocused();
  await page.keyboard.press("End");
  await expect(first.getByRole("button", { name: "Delete First row" })).toBeFocused();
  await page.keyboard.press("Home");
  await expect(first.getByRole("button", { name: "Test First row" })).toBeFocused();
  await accessible(page, "the Webhooks page with row toolbars");
});
