// npm run docs:screenshots: the README's pictures of the web app (docs/images/app-*.png), taken
// from the real thing on a scratch stack (scripts/test-stack.sh): the app built from web/, a
// functions host with the offline provider, a few runs made through the API, Debian's Chromium.
import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { loadStackEnv } from "./lib/stack-env.ts";
import { FAST_WORKERS, startHost } from "../tests/helpers/functions-host.ts";
import { apiClient, call } from "../tests/helpers/api.ts";
import { waitFor } from "../tests/helpers/wait.ts";
import { launchBrowser, openPage, signIn } from "../tests/helpers/browser.ts";
import buildWeb from "../tests/setup/web-build.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const images = `${root}docs/images/`;
const stack = loadStackEnv();
if (!process.env.PM_LEADS_STACK_DIR) throw new Error("run it on a scratch stack: npm run docs:screenshots");

buildWeb();
mkdirSync(images, { recursive: true });
const host = await startHost("shots", FAST_WORKERS);
const browser = await launchBrowser();
try {
  const api = apiClient(host.url, stack.SUPABASE_SERVICE_ROLE_KEY);
  const status = async (id: string) => (await call(api, `runs/${id}`)).body.status as string;
  const make = async (body: unknown) => (await call(api, "runs", { method: "POST", body })).body.id as string;
  const done = await make({ criteria: { pms: "Buildium", state: "TX" }, quantity: 5 });
  await make({ criteria: { pms: "AppFolio", states: ["OK", "KS"] }, quantity: 4, contacts_max: 2 });
  // a small market: it stops and asks what to do
  const waiting = await make({ criteria: { pms: "Buildium", state: "TX", city: "Round Rock", units_min: 100, units_max: 2000 }, quantity: 12 });
  await waitFor("the runs to settle", async () => (await status(done)) === "completed" && (await status(waiting)) === "needs_user_decision", 120_000, 250);

  const { page } = await openPage(browser, { width: 1280, height: 860 });
  await signIn(page, `${new URL(host.url).origin}/app/`, stack.SUPABASE_SERVICE_ROLE_KEY);
  await page.locator("#waiting-title").waitFor();
  await page.screenshot({ path: `${images}app-runs.png` });
  await page.goto(`${new URL(host.url).origin}/app/#/runs/${done}`);
  await page.locator('details[data-group="accepted"] .company').first().waitFor();
  await page.screenshot({ path: `${images}app-run-detail.png` });
  await page.getByRole("link", { name: "Workers" }).click();
  await page.locator(".tiles").waitFor();
  await page.getByRole("heading", { name: "Maintenance jobs" }).waitFor();
  await page.screenshot({ path: `${images}app-workers.png` });
  console.log(`wrote ${images}app-runs.png, app-run-detail.png, app-workers.png`);
} finally {
  await browser.close();
  await host.stop();
}
