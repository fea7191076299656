// The web app in a real Chromium against the real stack: a functions host of the test's own (the
// offline provider, fast workers) serving web/dist at /app/, through a TCP relay the test can cut
// to make the API go away. Each flow is what a sales-operations person does with the mouse and keys.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import type { SupabaseClient } from "@supabase/supabase-js";
import type { Sql } from "postgres";
import { readFileSync } from "node:fs";
import { loadStackEnv } from "../../scripts/lib/stack-env.ts";
import { connect, createKind, dropKind, waitFor } from "../helpers/db.ts";
import { FAST_WORKERS, startHost, type Host } from "../helpers/functions-host.ts";
import { apiClient, call } from "../helpers/api.ts";
import { startDbProxy, type DbProxy } from "../helpers/db-proxy.ts";
import { spawnFixture } from "../helpers/process.ts";
import { queue } from "../../shared/queue/client.ts";
import { DESKTOP, NARROW, inPage, launchBrowser, openPage, sidewaysOverflow, screenshot, seriousViolations, signIn } from "../helpers/browser.ts";

// a city is a small market: far fewer qualifying Buildium companies than 12 (tests/e2e/api.test.ts)
const SMALL_MARKET = { pms: "Buildium", state: "TX", city: "Round Rock", units_min: 100, units_max: 2000 };
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;

/** CSV text -> its data rows (the header dropped), enough to count and compare them. */
const csvRows = (text: string) => text.replace(/^\uFEFF/, "").trim().split(/\r?\n/).slice(1);

describe("web app", () => {
  const stack = loadStackEnv();
  const admin = stack.SUPABASE_SERVICE_ROLE_KEY;
  const tag = `web-${Date.now().toString(36)}`;
  let sql: Sql;
  let host: Host;
  let relay: DbProxy; // a TCP relay in front of the host: down() is the API (and the site) gone
  let appUrl: string;
  let api: SupabaseClient;
  let browser: Browser;
  let formRun: string; // the run the form made (completed, with companies in more than one group)

  beforeAll(async () => {
    sql = connect();
    host = await startHost(tag, FAST_WORKERS);
    relay = await startDbProxy(new URL(host.url));
    appUrl = `${new URL(relay.url).origin}/app/`;
    api = apiClient(host.url, admin);
    browser = await launchBrowser();
    // what other tests leave in the list, on purpose: criteria of long unbroken words, which must
    // wrap at 320 px instead of widening the page (a free-text PMS is accepted, with a warning)
    const long = await call(api, "runs", { method: "POST", body: { criteria: { pms: `Pms${"x".repeat(90)}`, state: "TX", city: `C${"y".repeat(95)}` }, quantity: 1 } });
    expect(long.status).toBe(201);
    // more runs than a page holds (20), as a day's work leaves: cancelled at once, they cost nothing
    for (let i = 0; i < 21; i++) {
      const made = await call(api, "runs", { method: "POST", body: { criteria: { pms: ["Buildium", "AppFolio", "Rentvine"], states: ["OK", "KS", "NE", "IA"], units_min: 10, units_max: 999_999 }, quantity: 1000, budget_usd: 123456.78 } });
      expect((await call(api, `runs/${made.body.id}/cancel`, { method: "POST" })).status).toBe(200);
    }
  });
  afterAll(async () => {
    await browser?.close();
    await relay?.close();
    await host?.stop();
    await sql`delete from pm_pipeline.suppression where domain like ${`%${tag}%`}`;
    await sql.end();
  });

  async function signedIn(viewport = DESKTOP, key = admin): Promise<Page> {
    const { page } = await openPage(browser, viewport);
    await signIn(page, appUrl, key);
    await page.getByRole("heading", { name: "Runs", level: 1 }).waitFor();
    return page;
  }

  /** The run's status as the detail page shows it, awaited until it is `status`. */
  async function waitForStatus(page: Page, status: string, timeout = 150_000) {
    await page.locator(".title-row .badges .badge").first().filter({ hasText: status }).waitFor({ timeout });
  }

  async function runStatus(id: string): Promise<string> {
    return (await call(api, `runs/${id}`)).body.status;
  }

  it("serves the app at /app/ with the right types and caching, and refuses paths out of it", async () => {
    const index = await fetch(appUrl);
    expect(index.status).toBe(200);
    expect(index.headers.get("content-type")).toMatch(/^text\/html/);
    expect(index.headers.get("cache-control")).toBe("no-cache");
    const html = await index.text();
    const script = /src="(\/app\/assets\/[^"]+\.js)"/.exec(html)![1];
    const asset = await fetch(new URL(script, appUrl));
    expect(asset.headers.get("content-type")).toMatch(/^text\/javascript/);
    expect(asset.headers.get("cache-control")).toMatch(/immutable/);
    expect((await fetch(appUrl.replace(/\/$/, ""))).status).toBe(200); // /app as well as /app/
    for (const path of ["/app/..%2f..%2fpackage.json", "/app/%2e%2e/%2e%2e/package.json", "/app/assets/..%2f..%2f..%2fpackage.json", "/app/.vite/manifest.json"]) {
      const answer = await fetch(`${new URL(relay.url).origin}${path}`);
      expect(answer.status, path).toBe(404);
      expect(await answer.text()).not.toMatch(/"name": "pm-leads"/);
    }
  });

  it("sign in: a wrong key is refused with a clear message; the right key is kept for the session, sign-out forgets it", async () => {
    const { page } = await openPage(browser);
    await signIn(page, appUrl, "not-a-key");
    await page.getByRole("alert").filter({ hasText: "That key was refused" }).waitFor();
    expect(page.url()).toMatch(/#\/signin/);
    expect(await page.getByLabel("API URL").inputValue()).toBe(new URL(appUrl).origin);

    await page.getByLabel("API key").fill(admin);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Runs", level: 1 }).waitFor();
    const stored = await inPage(page, `({ session: Object.keys(sessionStorage), local: Object.keys(localStorage).filter((k) => k.includes("credentials")) })`);
    expect(stored).toEqual({ session: ["pm-leads.credentials"], local: [] });
    await page.reload();
    await page.getByRole("heading", { name: "Runs", level: 1 }).waitFor(); // still signed in
    await screenshot(page, "runs");

    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    expect(await inPage(page, `[...Object.keys(sessionStorage), ...Object.keys(localStorage)].filter((k) => k.includes("credentials"))`)).toEqual([]);
    await page.context().close();
  });

  it("creates a run from the form (one run however often it is clicked), watches it complete, and downloads both CSVs", async () => {
    const page = await signedIn();
    await page.getByRole("link", { name: "New run", exact: true }).first().click();
    await page.getByRole("heading", { name: "New run" }).waitFor();
    // the API's per-field error, next to its field
    await page.getByLabel("Companies wanted").fill("0");
    await page.getByRole("button", { name: "Create run" }).click();
    await page.locator(".field.invalid").filter({ hasText: "Companies wanted" }).getByText("must be at least 1").waitFor();

    const before = (await sql`select count(*)::int as n from pm_pipeline.runs`)[0].n;
    await page.getByLabel("PMS").selectOption("Buildium");
    await page.getByLabel("States").fill("Texas");
    await page.getByLabel("Companies wanted").fill("3");
    await page.getByRole("button", { name: "Create run" }).dblclick();
    await page.waitForURL(/#\/runs\/[0-9a-f-]{36}$/);
    const id = UUID.exec(page.url())![0];
    formRun = id;
    await waitForStatus(page, "completed");
    expect((await sql`select count(*)::int as n from pm_pipeline.runs`)[0].n).toBe(before + 1);
    expect((await sql`select criteria from pm_pipeline.runs where id = ${id}`)[0].criteria).toMatchObject({ pms: "Buildium", states: ["TX"] });
    await page.locator('details[data-group="accepted"] .company').first().waitFor();
    expect(await page.locator('details[data-group="accepted"] .company').count()).toBe(3);
    await screenshot(page, "run-detail");
    // every claim one click away: the page that shows the PMS and the units' source, each with when it was read,
    // and each contact's title source; the look-alike domain in review says whose site it is
    const card = page.locator('details[data-group="accepted"] .company').first();
    const domain = await card.getAttribute("data-company");
    expect(await card.getByRole("link", { name: "page", exact: true }).getAttribute("href")).toBe(`https://${domain}/residents`);
    expect(await card.locator(".evidence-link").filter({ has: page.getByRole("link", { name: "page", exact: true }) }).locator("time").count()).toBe(1);
    expect(await card.getByRole("link", { name: "title source" }).first().getAttribute("href")).toBe(`https://${domain}/team`);
    expect(await page.locator('details[data-group="review"] .company').filter({ hasText: "another name" }).count()).toBeGreaterThan(0);
    // each e-mail's domain check: a badge where the domain takes no mail or could not be checked, none where it does
    const checks = await sql`select email_domain_check as check, count(*)::int as n from pm_pipeline.contacts
                              where run_id = ${id} and email is not null group by 1`;
    expect(checks.length).toBeGreaterThan(0);
    expect(checks.filter((c) => c.check === null)).toEqual([]); // every e-mail was checked
    const checked = (verdict: string) => checks.find((c) => c.check === verdict)?.n ?? 0;
    expect(await page.locator(".badge", { hasText: "domain takes no mail" }).count()).toBe(checked("undeliverable"));
    expect(await page.locator(".badge", { hasText: "mail domain unchecked" }).count()).toBe(checked("unknown"));

    for (const kind of ["companies", "contacts"] as const) {
      const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: `Download ${kind} CSV` }).click()]);
      expect(download.suggestedFilename()).toMatch(new RegExp(`${kind}.*\\.csv$`));
      const text = readFileSync((await download.path())!, "utf8");
      const fromApi = await (await fetch(`${host.url}/runs/${id}/${kind}.csv`, { headers: { authorization: `Bearer ${admin}` } })).text();
      expect(csvRows(text)).toEqual(csvRows(fromApi));
      if (kind === "companies") expect(csvRows(text)).toHaveLength(3);
      else expect(csvRows(text).length).toBeGreaterThanOrEqual(3);
    }
    // the CRM formats: a choice beside the downloads, each with its own file(s)
    for (const [format, file, button] of [["hubspot", "hubspot", "Download HubSpot import (companies and contacts)"], ["salesforce", "salesforce_leads", "Download Salesforce leads"]] as const) {
      await page.getByLabel("Format").selectOption(format);
      expect(await page.getByRole("button", { name: "Download companies CSV" }).count()).toBe(0);
      const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: button }).click()]);
      expect(download.suggestedFilename()).toMatch(new RegExp(`^${file}_${id.slice(0, 8)}_.*\\.csv$`));
      const fromApi = await (await fetch(`${host.url}/runs/${id}/${file}.csv`, { headers: { authorization: `Bearer ${admin}` } })).text();
      expect(csvRows(readFileSync((await download.path())!, "utf8"))).toEqual(csvRows(fromApi));
    }
    await page.context().close();
  });

  it("a run that needs a decision: its question and options on the list; expand the location from the page, and it completes", async () => {
    const created = await call(api, "runs", { method: "POST", body: { criteria: SMALL_MARKET, quantity: 12 } });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    await waitFor(() => `run ${id} to need a decision`, async () => (await runStatus(id)) === "needs_user_decision", 120_000, 250);

    const page = await signedIn();
    const card = page.locator(`li[data-run-id="${id}"]`);
    await page.locator("#waiting-title").waitFor();
    await card.getByText(/found \d+ of 12 companies/).waitFor();
    await screenshot(page, "runs-decision");
    await card.getByRole("button", { name: "Expand location" }).click();
    // an empty city: the whole state
    await card.getByRole("button", { name: /Apply: expand location/ }).click();
    await card.getByRole("link").click();
    await waitForStatus(page, "completed");
    // who decided: the key's name on the event ("admin" for the project's secret key)
    await page.locator(".events li").filter({ hasText: /expand.location/i }).filter({ hasText: "by admin" }).first().waitFor();
    expect((await sql`select criteria from pm_pipeline.runs where id = ${id}`)[0].criteria.city).toBeUndefined();
    await page.context().close();
  });

  it("the filters live in the URL: a shared link opens the same view", async () => {
    const page = await signedIn();
    await page.getByLabel("Status").selectOption("completed");
    await page.getByLabel("PMS", { exact: true }).selectOption("Buildium");
    await page.getByLabel("State").selectOption("TX");
    await page.getByLabel("Search", { exact: true }).fill("TX");
    await page.getByRole("button", { name: "Search" }).click();
    await page.waitForURL(/q=TX/);
    const shared = new URL(page.url());
    expect(Object.fromEntries(new URLSearchParams(shared.hash.split("?")[1]))).toEqual({ status: "completed", pms: "Buildium", state: "TX", q: "TX" });
    const { page: other } = await openPage(browser);
    await signIn(other, appUrl, admin);
    await other.getByRole("heading", { name: "Runs", level: 1 }).waitFor();
    await other.goto(shared.toString());
    await other.locator("li.run").first().waitFor();
    expect(await other.getByLabel("Status").inputValue()).toBe("completed");
    expect(await other.getByLabel("Search", { exact: true }).inputValue()).toBe("TX");
    for (const card of await other.locator("li.run .run-title").allTextContents()) expect(card).toMatch(/Buildium.*TX/);
    expect(await other.locator("li.run .badge", { hasText: /^(active|needs decision|error|cancelled)$/ }).count()).toBe(0);
    await other.context().close();

    // three filters changed in one task, before any render (as a script or a quick hand may):
    // all three land in the URL
    await page.goto(`${appUrl}#/runs`);
    await page.locator("li.run").first().waitFor();
    await inPage(page, `(() => {
      for (const [id, value] of [["f-status", "completed"], ["f-pms", "AppFolio"], ["f-state", "OK"]]) {
        const select = document.getElementById(id);
        select.value = value;
        select.dispatchEvent(new Event("change", { bubbles: true }));
      }
    })()`);
    await page.waitForURL(/state=OK/);
    expect(Object.fromEntries(new URLSearchParams(new URL(page.url()).hash.split("?")[1]))).toEqual({ status: "completed", pms: "AppFolio", state: "OK" });

    // paging: 20 a page, the total from the API
    await page.getByLabel("Status").selectOption("cancelled");
    await page.getByLabel("PMS", { exact: true }).selectOption("");
    await page.getByLabel("State").selectOption("");
    await page.getByLabel("Search", { exact: true }).fill("");
    await page.getByRole("button", { name: "Search" }).click();
    const pager = page.getByRole("navigation", { name: "Pages" });
    // (the URL says which filter a failure here lost)
    await pager.getByText(/^1–20 of \d+$/).waitFor().catch((error) => { throw new Error(`${error.message}\nat ${page.url()}`); });
    const firstPage = await page.locator("li.run").first().getAttribute("data-run-id");
    await pager.getByRole("button", { name: "Next" }).click();
    await pager.getByText(/^21–\d+ of \d+$/).waitFor();
    await page.waitForURL(/offset=20/);
    await page.locator(`li.run[data-run-id="${firstPage}"]`).waitFor({ state: "detached" });
    await page.context().close();
  });

  it("a SIGKILLed worker appears as dead, then as cleaned up", async () => {
    const kind = await createKind(sql, { lease_seconds: 600 }); // only the dead-worker check frees it
    try {
      await queue(sql).enqueue(kind, null, [{}]);
      const holder = spawnFixture("lease-holder.ts", [kind, "200"]);
      const { worker } = await holder.next("claimed") as { worker: string };
      const page = await signedIn();
      await page.getByRole("link", { name: "Workers" }).click();
      const card = page.locator(`li[data-worker="${worker}"]`);
      await card.waitFor();
      holder.process.kill("SIGKILL");
      // the clock is not ours to move: its last heartbeat is made older than the dead-worker threshold
      await sql`update pm_pipeline.worker_heartbeats set last_heartbeat_at = now() - interval '31 seconds' where worker_id = ${worker}`;
      await page.getByTestId("dead-banner").waitFor();
      // the host's cron (every second here) marks it dead and gives its task back
      await page.locator(`li[data-worker="${worker}"][data-status="dead"]`).waitFor({ timeout: 30_000 });
      await screenshot(page, "workers-dead");
      expect((await sql`select state from pm_pipeline.tasks where kind = ${kind}`)[0].state).toBe("queued");
      // cleaned up: cleanup_stale_workers deletes workers silent for longer than the minutes given
      await sql`update pm_pipeline.worker_heartbeats set last_heartbeat_at = now() - interval '2 hours' where worker_id = ${worker}`;
      await sql`select * from pm_pipeline.cleanup_stale_workers(60)`;
      await card.waitFor({ state: "detached", timeout: 30_000 });
      await page.context().close();
    } finally {
      await dropKind(sql, kind);
    }
  });

  it("a viewer key sees no action, and the API refuses its write with 403", async () => {
    const made = await call(api, "runs/keys", { method: "POST", body: { name: `${tag}-viewer`, role: "viewer" } });
    expect(made.status).toBe(201);
    const viewer = made.body.key as string;
    const [run] = (await call(api, "runs?limit=1")).body.runs;
    const page = await signedIn(DESKTOP, viewer);
    await page.locator(".who").getByText("viewer").waitFor();
    expect(await page.getByRole("link", { name: "New run" }).count()).toBe(1); // the navigation only
    await page.locator(`li[data-run-id="${run.id}"] a`).first().click();
    await page.getByRole("heading", { name: "Criteria" }).waitFor();
    expect(await page.getByRole("button", { name: /Cancel run|Accept partial|Expand location/ }).count()).toBe(0);
    await page.getByRole("link", { name: "Suppression" }).click();
    await page.getByRole("heading", { name: "Suppression list" }).waitFor();
    expect(await page.getByRole("button", { name: /Add|Preview|Remove/ }).count()).toBe(0);
    await page.getByRole("link", { name: "New run" }).click();
    await page.getByText("This key may only read").waitFor();
    const refused = await call(apiClient(host.url, viewer), "runs", { method: "POST", body: { criteria: { state: "TX" }, quantity: 1 } });
    expect(refused.status).toBe(403);
    await page.context().close();
  });

  it("a refresh keeps the scroll position, an open panel and a half-filled form; the API going away shows a banner over the last data, and the page recovers", async () => {
    const page = await signedIn({ width: 1000, height: 500 });
    await page.getByRole("combobox", { name: "Refresh every" }).selectOption("2");
    const run = { id: formRun };
    await page.goto(`${appUrl}#/runs/${run.id}`);
    await page.locator('details[data-group="accepted"] .company').first().waitFor();
    // the reader closes the accepted companies, opens a decision-free panel (the rejected ones, when there are) and scrolls
    await page.locator('details[data-group="accepted"] > summary').click();
    await inPage(page, "window.scrollTo(0, 300)");
    const scrolled = await inPage(page, "window.scrollY");
    expect(scrolled).toBeGreaterThan(0);
    const refreshes = async (n: number) => {
      for (let i = 0; i < n; i++) await page.waitForResponse((r) => r.url().includes(`/runs/${run.id}`) && r.status() === 200, { timeout: 15_000 });
    };
    await refreshes(3);
    expect(await inPage(page, "window.scrollY")).toBe(scrolled);
    expect(await page.locator('details[data-group="accepted"]').evaluate((d) => (d as unknown as { open: boolean }).open)).toBe(false);

    await relay.down();
    try {
      await page.getByRole("alert").filter({ hasText: "The API is not answering" }).first().waitFor({ timeout: 30_000 });
      // the last data stays, and the reader's place in it (the banner above may move it down, never back to the top)
      await page.getByRole("heading", { name: "Criteria" }).waitFor();
      expect(await page.locator('details[data-group="accepted"] .company').count()).toBeGreaterThan(0);
      expect(await inPage(page, "window.scrollY")).toBeGreaterThanOrEqual(scrolled);
      await screenshot(page, "api-down");
    } finally {
      await relay.up();
    }
    await page.getByRole("alert").filter({ hasText: "The API is not answering" }).first().waitFor({ state: "detached", timeout: 30_000 });

    // a half-filled form on a live screen survives its refreshes
    await page.getByRole("link", { name: "Suppression" }).click();
    await page.getByLabel(/Domains \(comma/).fill(`half.${tag}.example`);
    for (let i = 0; i < 2; i++) await page.waitForResponse((r) => r.url().includes("/suppression?") && r.status() === 200, { timeout: 15_000 });
    expect(await page.getByLabel(/Domains \(comma/).inputValue()).toBe(`half.${tag}.example`);
    await page.context().close();
  });

  it("suppression list: add domains, import a CSV after its preview, remove", async () => {
    const page = await signedIn();
    await page.getByRole("link", { name: "Suppression" }).click();
    await page.getByLabel(/Domains \(comma/).fill(`one.${tag}.example, two.${tag}.example`);
    await page.getByRole("button", { name: "Add", exact: true }).click();
    await page.getByText("Added 2; 0 already on the list.").waitFor();
    await page.getByLabel("or paste it").fill(`domain\nthree.${tag}.example\none.${tag}.example\n`);
    await page.getByRole("button", { name: "Preview" }).click();
    await page.locator(".preview").getByText("would be added").waitFor();
    expect(await page.locator(".preview").textContent()).toMatch(/1 would be added; 1 already/);
    expect((await sql`select count(*)::int as n from pm_pipeline.suppression where domain = ${`three.${tag}.example`}`)[0].n).toBe(0);
    await page.getByRole("button", { name: "Import 1 domains" }).click();
    await page.getByText("Imported: 1 added").waitFor();
    expect((await sql`select count(*)::int as n from pm_pipeline.suppression where domain like ${`%${tag}%`}`)[0].n).toBe(3);
    await page.getByRole("button", { name: `Remove two.${tag}.example` }).click();
    await page.locator(`li[data-domain="two.${tag}.example"]`).waitFor({ state: "detached" });
    // a CRM's export: recognised by its header, the e-mails' domains taken, free-mail skipped
    await page.getByLabel("or paste it").fill(`Record ID,First Name,Last Name,Email\n1,Jo,Smith,jo@four.${tag}.example\n2,Al,Lee,al@gmail.com\n`);
    await page.getByRole("button", { name: "Preview" }).click();
    await page.locator(".preview").getByText("Read as a HubSpot contacts export; rows skipped: 1 with only a free-mail address.").waitFor();
    expect(await page.locator(".preview").textContent()).toMatch(/1 would be added; 0 already/);
    expect(await page.locator(".preview").textContent()).toContain(`four.${tag}.example`);
    await page.context().close();
  });

  describe.each([
    { name: "desktop, light", viewport: DESKTOP, scheme: "light" as const },
    { name: "desktop, dark", viewport: DESKTOP, scheme: "dark" as const },
    { name: "320 px", viewport: NARROW, scheme: "light" as const },
  ])("every screen at $name", ({ name, viewport, scheme }) => {
    it("has no serious or critical axe violation and does not scroll sideways; the main flow works", async () => {
      const { page } = await openPage(browser, viewport, scheme);
      const slug = name.replace(/[^a-z0-9]+/g, "-");
      const check = async (screen: string) => {
        expect(await seriousViolations(page), `${screen} at ${name}`).toEqual([]);
        expect(await sidewaysOverflow(page), `${screen} at ${name} scrolls sideways`).toEqual([]);
        await screenshot(page, `${slug}-${screen}`);
      };
      await page.goto(`${appUrl}#/signin`);
      await page.getByRole("heading", { name: "Sign in" }).waitFor();
      await check("signin");
      await signIn(page, appUrl, admin);
      await page.getByRole("heading", { name: "Runs", level: 1 }).waitFor();
      await page.locator("li.run").first().waitFor();
      await check("runs");
      await page.getByRole("link", { name: "New run", exact: true }).first().click();
      await page.getByLabel("States").fill("OK");
      await page.getByLabel("Companies wanted").fill("2");
      await check("new-run");
      await page.getByRole("button", { name: "Create run" }).click();
      await page.waitForURL(/#\/runs\/[0-9a-f-]{36}$/);
      await waitForStatus(page, "completed");
      await page.locator('details[data-group="accepted"] .company').first().waitFor();
      await check("run-detail");
      await page.getByRole("button", { name: "Download contacts CSV" }).waitFor();
      await page.getByRole("link", { name: "Workers" }).click();
      await page.getByRole("heading", { name: "By worker type" }).waitFor();
      await page.locator(".tiles").waitFor();
      await check("workers");
      await page.getByRole("link", { name: "Suppression" }).click();
      await page.getByRole("heading", { name: "Import a CSV" }).waitFor();
      await check("suppression");
      await page.context().close();
    });
  });
});
