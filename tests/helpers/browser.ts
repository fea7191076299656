// Debian's Chromium driven by playwright-core for the browser tests: a page per viewport, the
// sign-in as a person does it, axe-core scans, screenshots into tests/artifacts/ (not committed).
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const CHROMIUM = "/usr/bin/chromium";
const artifacts = fileURLToPath(new URL("../artifacts/", import.meta.url));
const axePath = fileURLToPath(new URL("../../node_modules/axe-core/axe.min.js", import.meta.url));

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // no sandbox (root in a container), and nothing that talks to Google's services by itself
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
}

export const DESKTOP = { width: 1280, height: 900 };
export const NARROW = { width: 320, height: 700 };

export async function openPage(browser: Browser, viewport = DESKTOP, colorScheme: "light" | "dark" = "light"): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport, acceptDownloads: true, colorScheme });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  return { context, page };
}

/** Signs in through the form; `apiUrl` left to its default (the page's origin) unless given. */
export async function signIn(page: Page, appUrl: string, key: string, options: { apiUrl?: string; remember?: boolean } = {}) {
  await page.goto(`${appUrl}#/signin`);
  if (options.apiUrl) await page.getByLabel("API URL").fill(options.apiUrl);
  await page.getByLabel("API key").fill(key);
  if (options.remember) await page.getByLabel("Remember on this device").check();
  await page.getByRole("button", { name: "Sign in" }).click();
}

export interface Violation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

/** axe-core on the page as it is: the violations of impact serious or critical. */
export async function seriousViolations(page: Page): Promise<Violation[]> {
  await page.addScriptTag({ path: axePath });
  const violations = await inPage<Violation[]>(page, `axe.run(document).then((result) => result.violations.map((v) =>
    ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => JSON.stringify(n.target)) })))`);
  return violations.filter((v) => v.impact === "serious" || v.impact === "critical");
}

export async function screenshot(page: Page, name: string) {
  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: `${artifacts}${name}.png`, fullPage: true });
}

/** What makes the page scroll sideways (it must not, down to 320 px): the widest elements past the
 * viewport's right edge, as tag.class "text…" (empty: nothing does). */
export const sidewaysOverflow = (page: Page) =>
  inPage<string[]>(page, `(() => {
    const root = document.documentElement;
    if (root.scrollWidth <= root.clientWidth + 1) return [];
    return [...document.querySelectorAll("body *")]
      .filter((e) => e.getBoundingClientRect().right > root.clientWidth + 1 && !e.closest(".table-wrap"))
      .sort((a, b) => b.getBoundingClientRect().right - a.getBoundingClientRect().right).slice(0, 5)
      .map((e) => e.tagName.toLowerCase() + "." + [...e.classList].join(".") + " " + JSON.stringify((e.textContent || "").slice(0, 60)));
  })()`);

/** An expression evaluated in the page (as text: the Node side's types know no DOM). */
export const inPage = <T = any>(page: Page, expression: string): Promise<T> => page.evaluate(expression) as Promise<T>;
