import { expect, test } from "@playwright/test";
import { createHmac } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { accessible, adminHeaders, clearWebhooks, logIn, snap } from "./helpers";

test.beforeEach(async ({ request }) => clearWebhooks(request));

test("a POST trigger with a bearer token and a required param relays a call to the webhooks", async ({
  page,
  context,
  request,
}) => {
  await context.grantPermissions(["clipboard-read", "clipboard-write"]);
  const bodies: string[] = [];
  const server = createServer((req, res) => {
    let data = "";
    req.on("data", (chunk) => (data += chunk));
    req.on("end", () => {
      bodies.push(data);
      res.writeHead(200);
      res.end("ok");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/weather`;
    const headers = await adminHeaders(request);
    const created = await request.post("/api/webhooks", {
      headers,
      data: { name: "Weather sink", url, events: ["weather.*"] },
    });
    expect(created.status()).toBe(201);

    await logIn(page);
    await page.getByRole("navigation", { name: "Toolbox" }).getByRole("link", { name: "Triggers" }).click();
    await expect(page.getByText("No triggers yet.")).toBeVisible();
    await page.getByRole("link", { name: "Create Trigger" }).click();
    await page.getByLabel("Name", { exact: true }).fill("City weather");
    await page.getByRole("button", { name: "Add parameter" }).click();
    await page.getByLabel("Parameter name").fill("CityName");
    await page.getByLabel("Required value").fill("Paris");
    await page.getByLabel("Authentication type").selectOption("bearer");
    await page.getByLabel("Event type").fill("weather.report");
    await page.getByRole("button", { name: "Save" }).click();

    // the edit page: URL, curl example, Generate Token
    await expect(page.getByRole("heading", { name: "Edit Trigger" })).toBeVisible();
    const hookUrl = (await page.getByTestId("hook-url").textContent())!;
    expect(hookUrl).toMatch(/\/hooks\/[A-Za-z0-9_-]{32}$/);
    await page.getByRole("button", { name: "Generate Token" }).click();
    await expect(page.getByRole("status").filter({ hasText: "Token" })).toContainText("Token copied to the clipboard");
    const token = (await page.locator(".token-value").textContent())!;
    expect(token).toMatch(/^hht_/);
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(token);
    await expect(page.locator("pre.curl")).toContainText(`Authorization: Bearer ${token}`);
    await expect(page.locator("pre.curl")).toContainText('{"CityName":"Paris"}');
    await snap(page, "trigger-token");

    // an outside system calls it
    const wrong = await request.post(hookUrl, { headers: { Authorization: `Bearer ${token}` }, data: { CityName: "Lyon" } });
    expect(wrong.status()).toBe(422);
    const denied = await request.post(hookUrl, { data: { CityName: "Paris" } });
    expect(denied.status()).toBe(401);
    const call = await request.post(hookUrl, {
      headers: { Authorization: `Bearer ${token}` },
      data: { CityName: "Paris", temperature: 21 },
    });
    expect(call.status()).toBe(202);
    const outputs = (await call.json()).data;
    expect(outputs.event.type).toBe("weather.report");
    expect(outputs.deliveries).toHaveLength(1);
    await expect.poll(() => bodies.length).toBe(1);
    expect(JSON.parse(bodies[0]).data).toEqual({ CityName: "Paris", temperature: 21 });

    // the call log, and the relayed delivery in Logs
    await page.getByRole("button", { name: "Refresh" }).click();
    const log = page.locator("table.calls");
    await expect(log.locator("tbody tr")).toHaveCount(3);
    await expect(log.locator("tbody tr").first()).toContainText("accepted");
    await expect(log).toContainText("unauthorized");
    await expect(log).toContainText("invalid");
    await snap(page, "trigger-calls");
    // narrowed to one outcome
    await page.getByLabel("Outcome").selectOption("unauthorized");
    await expect(log.locator("tbody tr")).toHaveCount(1);
    await expect(log.locator("tbody tr").first()).toContainText("unauthorized");
    await page.getByLabel("Outcome").selectOption("");
    await expect(log.locator("tbody tr")).toHaveCount(3);
    // the accepted call's event opens its deliveries
    await log.locator("tbody tr", { hasText: "accepted" }).getByRole("link", { name: outputs.event.id }).click();
    await expect(page.getByRole("status").filter({ hasText: "The deliveries of event" })).toContainText(outputs.event.id);
    await expect(page.locator("tr[data-delivery]")).toHaveCount(1);
    await expect(page.locator("tr[data-delivery]", { hasText: "weather.report" })).toContainText("succeeded");
    await expect(page.locator("tr[data-delivery]")).toContainText("Weather sink");
    await snap(page, "event-deliveries");
    // the words of the event find it too, in any case
    await page.getByLabel("Search").fill("PARIS");
    await page.getByLabel("Search").press("Enter");
    await expect(page).toHaveURL(/search=PARIS/);
    await expect(page.locator("tr[data-delivery]")).toHaveCount(1);
    await expect(page.locator("tr[data-delivery]")).toContainText("weather.report");
    await page.getByLabel("Search").fill("lyon");
    await page.getByLabel("Search").press("Enter");
    await expect(page.getByText("No deliveries match these filters.")).toBeVisible();
  } finally {
    server.close();
  }
});

test("a viewer sees logs and nothing they cannot use", async ({ page, request }) => {
  const headers = await adminHeaders(request);
  // a webhook whose receiver is gone: hookhub switches it off, the next event waits
  const gone = createServer((_req, res) => {
    res.writeHead(410);
    res.end();
  });
  await new Promise<void>((resolve) => gone.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(gone.address() as AddressInfo).port}/ledger`;
  const ledger = await request.post("/api/webhooks", { headers, data: { name: "Ledger", url, events: ["ledger.*"] } });
  expect(ledger.status()).toBe(201);
  const ledgerId = (await ledger.json()).data.id;
  expect((await request.post("/api/events", { headers, data: { type: "ledger.create", data: { n: 1 } } })).status()).toBe(202);
  await expect
    .poll(async () => (await (await request.get(`/api/webhooks/${ledgerId}`, { headers })).json()).data.health.state)
    .toBe("disabled");
  gone.close();
  const waiting = await request.post("/api/events", { headers, data: { type: "ledger.update", data: { n: 2 } } });
  expect(waiting.status()).toBe(202);
  const waitingEvent = (await waiting.json()).data.id;

  const viewer = await request.post("/api/users", {
    headers,
    data: { username: `viewer-${Date.now()}`, password: "viewer-password-1", role: "viewer" },
  });
  expect(viewer.status()).toBe(201);
  const username = (await viewer.json()).data.username;
  const published = await request.post("/api/events", { headers, data: { type: "audit.viewed", data: {} } });
  expect(published.status()).toBe(202);

  await page.goto("/login");
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill("viewer-password-1");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByRole("heading", { name: "Logs" })).toBeVisible();
  await expect(page.locator(".user")).toContainText(`${username} (viewer)`);
  const nav = page.getByRole("navigation", { name: "Toolbox" });
  await expect(nav.getByRole("link", { name: "Logs" })).toBeVisible();
  for (const hidden of ["Webhooks", "Triggers", "Users"]) {
    await expect(nav.getByRole("link", { name: hidden })).toHaveCount(0);
  }
  await snap(page, "viewer-logs");

  // narrowed to a webhook, the viewer sees how it is doing, not where it points
  await page.getByLabel("Webhook").selectOption({ label: "Ledger" });
  const chosen = page.getByRole("region", { name: "Ledger: health" });
  await expect(chosen).toContainText("Switched off by hookhub: the receiver answered 410 Gone");
  await expect(chosen).toContainText("1 delivery waits, paused");
  await expect(chosen.getByRole("link")).toHaveCount(0);
  await expect(page.getByRole("button", { name: /Recover/ })).toHaveCount(0);
  await expect(page.locator("tr[data-delivery]")).toHaveCount(2);
  await snap(page, "viewer-webhook-health");
  await accessible(page, "viewer-webhook-health");
  // a delivery's event leads to every delivery of that event
  await page.locator("tr[data-delivery]", { hasText: "ledger.update" }).getByRole("link").click();
  await expect(page.getByText(waitingEvent)).toBeVisible();
  await page.getByRole("link", { name: "Every delivery of this event" }).click();
  await expect(page.getByRole("status").filter({ hasText: "The deliveries of event" })).toContainText(waitingEvent);
  await expect(page.locator("tr[data-delivery]")).toHaveCount(1);
  await expect(page.locator("tr[data-delivery]")).toContainText("paused");
  await page.getByRole("button", { name: "Show every event" }).click();
  await expect(page.getByRole("status").filter({ hasText: "The deliveries of event" })).toHaveCount(0);

  // logging out ends the session
  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto("/logs");
  await expect(page).toHaveURL(/\/login$/);
});

test("an admin adds a user, changes their role and deletes them after confirming", async ({ page }) => {
  await logIn(page);
  await page.getByRole("navigation", { name: "Toolbox" }).getByRole("link", { name: "Users" }).click();
  const name = `olga-${Date.now()}`;
  await page.getByLabel("Username", { exact: true }).fill(name);
  await page.getByLabel("Password", { exact: true }).fill("short");
  await page.getByRole("button", { name: "Add user" }).click();
  await expect(page.locator('.field-error[data-field="password"]')).toContainText("must be 10");
  await page.getByLabel("Password", { exact: true }).fill("long-enough-password");
  await page.getByRole("button", { name: "Add user" }).click();
  const row = page.locator("tr", { hasText: name });
  await expect(row).toBeVisible();
  // a role change asks first; No leaves the role as it was
  await row.getByLabel(`Role of ${name}`).selectOption("admin");
  const ask = page.getByRole("alertdialog");
  await expect(ask).toContainText(`Make ${name} admin?`);
  await accessible(page, "role change dialog");
  await ask.getByRole("button", { name: "Cancel" }).click();
  await expect(row.getByLabel(`Role of ${name}`)).toHaveValue("viewer");
  await row.getByLabel(`Role of ${name}`).selectOption("admin");
  await page.getByRole("alertdialog").getByRole("button", { name: "Change role" }).click();
  await expect(page.getByRole("status")).toContainText("Role changed");
  // switching someone off asks too
  await row.getByLabel(`Active: ${name}`).uncheck();
  await expect(page.getByRole("alertdialog")).toContainText(`Switch ${name} off?`);
  await snap(page, "user-switch-off-confirm");
  await page.getByRole("alertdialog").getByRole("button", { name: "Switch off" }).click();
  await expect(page.getByRole("status")).toContainText("Switched off");
  await expect(row.getByLabel(`Active: ${name}`)).not.toBeChecked();
  // your own row cannot switch you off or demote you
  const mine = page.locator("tr", { hasText: "(you)" });
  await expect(mine.getByRole("switch")).toBeDisabled();
  await expect(mine.getByRole("combobox")).toBeDisabled();
  await expect(mine.getByRole("button", { name: /Delete/ })).toBeDisabled();
  await expect(mine).toContainText("you cannot");
  await page.reload();
  await expect(page.locator("tr", { hasText: name }).getByLabel(`Role of ${name}`)).toHaveValue("admin");
  await snap(page, "users");
  await page.locator("tr", { hasText: name }).getByRole("button", { name: "Delete" }).click();
  await page.getByRole("alertdialog").getByRole("button", { name: "Delete" }).click();
  await expect(page.locator("tr", { hasText: name })).toHaveCount(0);
});

test("a trigger that GitHub calls checks its signature, and the call log says why one was refused", async ({
  page,
  request,
}) => {
  await logIn(page);
  await page.getByRole("navigation", { name: "Toolbox" }).getByRole("link", { name: "Triggers" }).click();
  await page.getByRole("link", { name: "Create Trigger" }).click();
  await page.getByLabel("Name", { exact: true }).fill("Repository pushes");
  await page.getByLabel("Callers sign the body").check();
  await page.getByLabel("Sender", { exact: true }).selectOption("github");
  await expect(page.getByText("GitHub sends X-Hub-Signature-256")).toBeVisible();
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.locator('.field-error[data-field="auth.secret"]')).toContainText("required");
  await page.getByLabel("Signing secret").fill("a shared github secret");
  await page.getByLabel("Event type").fill("repo.push");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByRole("heading", { name: "Edit Trigger" })).toBeVisible();
  await expect(page.locator("pre.curl")).toContainText("X-Hub-Signature-256: sha256=");
  await snap(page, "trigger-signature");
  await accessible(page, "trigger-signature");

  const hookUrl = (await page.getByTestId("hook-url").textContent())!;
  const body = '{"ref": "refs/heads/main"}';
  const signature = "sha256=" + createHmac("sha256", "a shared github secret").update(body).digest("hex");
  const good = await request.post(hookUrl, {
    headers: { "content-type": "application/json", "x-hub-signature-256": signature },
    data: body,
  });
  expect(good.status()).toBe(202);
  const bad = await request.post(hookUrl, {
    headers: { "content-type": "application/json", "x-hub-signature-256": signature },
    data: '{"ref": "refs/heads/evil"}',
  });
  expect(bad.status()).toBe(401);
  await page.getByRole("button", { name: "Refresh" }).click();
  const log = page.locator("table.calls");
  await expect(log.locator("tbody tr", { hasText: "unauthorized" })).toContainText("the signature does not match the body");
  await expect(log.locator("tbody tr", { hasText: "accepted" })).toHaveCount(1);
  // Saved again without the secret, the stored one stays.
  await expect(page.getByText("Stored, sealed, and never shown")).toBeVisible();
});
