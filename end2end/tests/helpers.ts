import { expect, type Page } from "@playwright/test";
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
