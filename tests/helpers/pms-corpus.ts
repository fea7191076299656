// The PMS corpus (tests/fixtures/pms-corpus/*.json, see its README): real-world patterns, each turned
// into a small site that the site server plays, and the scoring of the detector's "high" answers that
// the bench and the corpus test share.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { PmsConfidence } from "../../shared/domain/schemas.ts";
import type { FixtureSite } from "./site-server.ts";

export const CORPUS_DIR = fileURLToPath(new URL("../fixtures/pms-corpus/", import.meta.url));

/** `[text, href]` is an anchor; the object form is for iframes, scripts, forms and credits. */
type LinkSpec = [string, string] | { text?: string; href: string; tag?: "a" | "iframe" | "script" | "form"; credit?: string };

interface PageSpec {
  /** the homepage's nav text for this page, or false: a page nothing links */
  linked: string | false;
  links?: LinkSpec[];
  text?: string;
}

interface CaseSpec {
  id: string;
  pattern: string;
  source: string;
  home?: LinkSpec[];
  footer?: LinkSpec[];
  text?: string;
  pages?: Record<string, PageSpec>;
  /** the company's own paths answering with a redirect to this URL */
  redirects?: Record<string, string>;
  truth: { pms: string | null; confidence: PmsConfidence };
}

export interface CorpusCase extends FixtureSite {
  /** the corpus file (a vendor or a trap) */
  group: string;
  pattern: string;
  source: string;
}

const escapeHtml = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

function renderLink(spec: LinkSpec): string {
  const { text = "", href, tag = "a", credit } = Array.isArray(spec) ? { text: spec[0], href: spec[1] } : spec;
  const [t, h] = [escapeHtml(text), escapeHtml(href)];
  const element = tag === "iframe" ? `<iframe src="${h}" title="${t}"></iframe>`
    : tag === "script" ? `<script src="${h}"></script>`
    : tag === "form" ? `<form action="${h}" method="post"><input name="email"><button>${t}</button></form>`
    : `<a href="${h}">${t}</a>`;
  return credit ? `<p>${escapeHtml(credit)} ${element}</p>` : `<p>${element}</p>`;
}

const document = (title: string, body: string) =>
  `<!doctype html>\n<html><head><title>${escapeHtml(title)} [corpus case]</title></head>\n<body>\n${body}\n</body></html>\n`;

/** The case's small website: homepage, its pages, /about and /contact. */
function siteFiles(spec: CaseSpec, company: string): Record<string, string> {
  const pages = Object.entries(spec.pages ?? {});
  const nav = ['<a href="/">Home</a>', ...pages.filter(([, p]) => p.linked !== false).map(([path, p]) => `<a href="${path}">${escapeHtml(p.linked as string)}</a>`),
    '<a href="/about">About us</a>', '<a href="/contact">Contact</a>'].join(" ");
  const footer = `<footer>${(spec.footer ?? []).map(renderLink).join("")}<p>&copy; ${escapeHtml(company)}. Synthetic corpus case.</p></footer>`;
  const files: Record<string, string> = {
    "/": document(company, `<nav>${nav}</nav><h1>${escapeHtml(company)}</h1><p>${escapeHtml(spec.text ?? "Property management for owners and residents.")}</p>` +
      `${(spec.home ?? []).map(renderLink).join("")}${footer}`),
    "/about": document(`About ${company}`, `<h1>About ${escapeHtml(company)}</h1><p>A made-up property manager.</p>`),
    "/contact": document("Contact", "<h1>Contact</h1><p>Call or write to us.</p>"),
  };
  for (const [path, page] of pages) {
    files[path] = document(page.linked || path, `<h1>${escapeHtml(page.linked || path)}</h1>${page.text ? `<p>${escapeHtml(page.text)}</p>` : ""}` +
      (page.links ?? []).map(renderLink).join(""));
  }
  return files;
}

// made-up company names: never from the case id, which names vendors ("rentcafe-shared-login")
const FIRST = ["Oak", "Cedar", "Harbor", "Summit", "Prairie", "Granite", "Willow", "Maple", "Canyon", "River", "Aspen", "Juniper"];
const SECOND = ["Ridge", "Point", "Valley", "Crest", "Hollow", "Field", "Creek", "Bend", "Park", "Grove", "Stone"];

function companyName(key: string): string {
  let hash = 0;
  for (const c of key) hash = (hash * 31 + c.charCodeAt(0)) >>> 0;
  return `${FIRST[hash % FIRST.length]} ${SECOND[(hash >>> 8) % SECOND.length]} Property Management`;
}

/** Every case of the corpus, served as <group>--<id>.example. */
export function loadCorpus(dir = CORPUS_DIR): CorpusCase[] {
  return readdirSync(dir).filter((f) => f.endsWith(".json")).sort().flatMap((file) => {
    const group = file.replace(/\.json$/, "");
    const { cases } = JSON.parse(readFileSync(join(dir, file), "utf8")) as { cases: CaseSpec[] };
    return cases.map((spec): CorpusCase => {
      const company = companyName(`${group}/${spec.id}`);
      return {
        name: `${group}/${spec.id}`,
        domain: `${group}--${spec.id}.example`,
        company,
        group,
        pattern: spec.pattern,
        source: spec.source,
        files: siteFiles(spec, company),
        redirects: Object.fromEntries(Object.entries(spec.redirects ?? {}).map(([path, location]) => [path, { status: 302, location }])),
        expected: spec.truth,
      };
    });
  });
}

/** A detector's answer for one site. */
export interface Run<S extends FixtureSite = FixtureSite> {
  site: S;
  result: { pms: string | null; confidence: PmsConfidence };
}

export interface Tally {
  sites: number;
  /** sites whose truth is "high" */
  expectedHigh: number;
  /** "high" for the true vendor of a site whose truth is "high" */
  truePositives: number;
  /** any other "high": the wrong vendor, or evidence that does not allow "high" */
  falsePositives: number;
}

const isRightHigh = ({ site, result }: Run) =>
  result.confidence === "high" && site.expected.confidence === "high" && result.pms === site.expected.pms;

/** Precision and recall counts of "high" over the runs `mine` selects (by the truth, or by the answer). */
export function tally(runs: Run[], mine: { truth: (run: Run) => boolean; claim: (run: Run) => boolean }): Tally {
  const t: Tally = { sites: 0, expectedHigh: 0, truePositives: 0, falsePositives: 0 };
  for (const run of runs) {
    if (mine.truth(run)) {
      t.sites++;
      if (run.site.expected.confidence === "high") t.expectedHigh++;
      if (isRightHigh(run)) t.truePositives++;
    }
    if (run.result.confidence === "high" && !isRightHigh(run) && mine.claim(run)) t.falsePositives++;
  }
  return t;
}

/** Runs of one vendor: sites whose truth names it, and "high" answers naming it. */
export const byVendor = (vendor: string | null) => ({
  truth: (r: Run) => r.site.expected.pms !== null && (vendor === null || r.site.expected.pms === vendor),
  claim: (r: Run) => vendor === null || r.result.pms === vendor,
});

/** Runs of one pattern (answers and truths of those sites alike). */
export const byPattern = (pattern: string) => {
  const mine = (r: Run) => (r.site as CorpusCase).pattern === pattern;
  return { truth: mine, claim: mine };
};

export const precision = (t: Tally) => (t.truePositives + t.falsePositives === 0 ? null : t.truePositives / (t.truePositives + t.falsePositives));
export const recall = (t: Tally) => (t.expectedHigh === 0 ? null : t.truePositives / t.expectedHigh);

/** The goal of issue 14 on the corpus. */
export const CORPUS_GOAL = { precision: 1.0, recall: 0.95 };
