import { expect, test } from "@playwright/test";
import { snap } from "./helpers";

test("the console says it is loading, then loads from compressed files cached by their content names", async ({ page }) => {
  // Hold the wasm back a moment, as a slow connection would.
  await page.route("**/pkg/*.wasm", async (route) => {
    await new Promise((done) => setTimeout(done, 1500));
    await route.continue();
  });
  const wasm = page.waitForResponse((answer) => /\/pkg\/app_bg-[0-9a-f]{16}\.wasm$/.test(answer.url()));
  await page.goto("/login");
  await expect(page.getByRole("status").filter({ hasText: "Loading hookhub" })).toBeVisible();
  await snap(page, "loading");
  const answer = await wasm;
  // Brotli, which Chromium accepts, a quarter smaller than gzip for the wasm.
  expect(answer.headers()["content-encoding"]).toBe("br");
  expect(answer.headers()["cache-control"]).toBe("public, max-age=31536000, immutable");
  await expect(page.getByLabel("Username")).toBeVisible();
  await expect(page.locator(".boot")).toBeHidden();

  // The page that names the files is asked for again on every load.
  const index = await page.request.get("/login");
  expect(index.headers()["cache-control"]).toBe("no-cache");
  expect(await index.text()).toContain("Loading hookhub");
});
