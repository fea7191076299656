// PMS detector benchmark: runs the detector, as in production but with a short per-host interval,
// through the local site server over
// - the fixture sites (tests/fixtures/pms-sites), written beside the detector, and
// - the corpus (tests/fixtures/pms-corpus): real-world patterns from public sources, each a small
//   generated site with its truth under the rules of issue 14,
// and prints the precision and recall of its "high" answers per vendor (and for the corpus per
// pattern), the misses, and the pages and requests per company.
//
//   npm run bench:detector [-- --json results.json]
//
// A "high" is right when the site's truth is "high" for that vendor; any other "high" (the wrong
// vendor, or a site whose evidence allows only medium, low or none) is a false positive. Recall counts
// the sites whose truth is "high". Goal on the corpus: precision 1.0, recall >= 0.95.
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { detectCompanyPms, type CompanyPmsResult } from "../shared/pms/detector/company-check.ts";
import { PMS_VENDORS } from "../shared/domain/pms-vendors.ts";
import { loadFixtureSites, startSiteServer, type FixtureSite } from "../tests/helpers/site-server.ts";
import { byPattern, byVendor, CORPUS_GOAL, loadCorpus, precision, recall, tally, type CorpusCase, type Tally } from "../tests/helpers/pms-corpus.ts";
import { printTable } from "./table.ts";

const OPTIONS = { minIntervalMs: 20, timeoutMs: 2_000 };

type Run<S extends FixtureSite> = { site: S; result: CompanyPmsResult };

const ratio = (value: number | null) => (value === null ? "n/a" : value.toFixed(2));
const row = (name: string, t: Tally) => [name, t.sites, t.expectedHigh, t.truePositives, t.falsePositives, ratio(precision(t)), ratio(recall(t))];
const HEADER = ["sites", "expected high", "high right", "high wrong", "precision", "recall"];
const mean = (xs: number[]) => (xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(1);

async function detectAll<S extends FixtureSite>(sites: S[]): Promise<Run<S>[]> {
  const server = await startSiteServer(sites);
  const runs: Run<S>[] = [];
  try {
    for (const site of sites) runs.push({ site, result: await detectCompanyPms(site.domain, { network: server.network, ...OPTIONS }) });
  } finally {
    await server.close();
  }
  return runs;
}

const vendorTallies = (runs: Run<FixtureSite>[]) =>
  [...PMS_VENDORS.map((v) => ({ vendor: v.name, ...tally(runs, byVendor(v.name)) })), { vendor: "all vendors", ...tally(runs, byVendor(null)) }];

const misses = (runs: Run<FixtureSite>[]) => runs.filter(({ site, result }) => site.expected.pms !== result.pms || site.expected.confidence !== result.confidence)
  .map(({ site, result }) => ({ site: site.name, expected: site.expected, got: { pms: result.pms, confidence: result.confidence }, evidence_urls: result.evidence_urls }));

function printBudget(runs: Run<FixtureSite>[]) {
  const pages = runs.map((r) => r.result.pages_fetched);
  const requests = runs.map((r) => r.result.fetched_urls.length);
  printTable(["per company", "mean", "max"], [
    ["pages read", mean(pages), Math.max(...pages)],
    ["requests (robots.txt, 404s, redirects too)", mean(requests), Math.max(...requests)],
  ]);
  return { pages_mean: Number(mean(pages)), pages_max: Math.max(...pages), requests_mean: Number(mean(requests)), requests_max: Math.max(...requests) };
}

function printMisses(runs: Run<FixtureSite>[]) {
  const wrong = misses(runs);
  console.log(`\n${runs.length - wrong.length} of ${runs.length} sites gave exactly their expected pms and confidence.`);
  if (wrong.length) {
    printTable(["site", "expected", "got"], wrong.map((m) => [m.site, `${m.expected.pms} ${m.expected.confidence}`, `${m.got.pms} ${m.got.confidence}`]));
  }
  return wrong;
}

async function main() {
  const { values: args } = parseArgs({ options: { json: { type: "string" } } });
  const fixtures = loadFixtureSites();
  const corpus = loadCorpus();
  const started = performance.now();
  const fixtureRuns = await detectAll(fixtures);
  const corpusRuns = await detectAll(corpus);
  const seconds = (performance.now() - started) / 1000;

  console.log(`PMS detector over ${fixtures.length} fixture sites and ${corpus.length} corpus cases (${seconds.toFixed(1)} s, ${OPTIONS.minIntervalMs} ms per-host interval)\n`);
  console.log("Fixture sites (tests/fixtures/pms-sites)\n");
  const fixtureVendors = vendorTallies(fixtureRuns);
  printTable(["vendor", ...HEADER], fixtureVendors.filter((t) => t.sites > 0 || t.falsePositives > 0).map((t) => row(t.vendor, t)));
  console.log("");
  const fixtureBudget = printBudget(fixtureRuns);
  const fixtureMisses = printMisses(fixtureRuns);

  console.log("\nCorpus of real-world patterns (tests/fixtures/pms-corpus), per vendor\n");
  const corpusVendors = vendorTallies(corpusRuns);
  printTable(["vendor", ...HEADER], corpusVendors.map((t) => row(t.vendor, t)));
  console.log("\nper pattern\n");
  const patterns = [...new Set(corpus.map((c) => c.pattern))].sort().map((pattern) => ({ pattern, ...tally(corpusRuns, byPattern(pattern)) }));
  printTable(["pattern", ...HEADER], patterns.map((t) => row(t.pattern, t)));
  console.log("");
  const corpusBudget = printBudget(corpusRuns);
  const corpusMisses = printMisses(corpusRuns);

  const all = corpusVendors.at(-1)!;
  const goalMet = (precision(all) ?? 0) >= CORPUS_GOAL.precision && (recall(all) ?? 0) >= CORPUS_GOAL.recall;
  console.log(`\nGoal on the corpus: precision ${CORPUS_GOAL.precision.toFixed(1)} and recall >= ${CORPUS_GOAL.recall} of "high": ` +
    `precision ${ratio(precision(all))}, recall ${ratio(recall(all))}: ${goalMet ? "met" : "NOT met"}.`);

  if (args.json) {
    const sitesOut = (runs: Run<FixtureSite>[]) => runs.map(({ site, result }) => ({
      site: site.name, pattern: (site as CorpusCase).pattern, expected: site.expected, pms: result.pms, confidence: result.confidence,
      pages_fetched: result.pages_fetched, requests: result.fetched_urls.length,
    }));
    writeFileSync(args.json, JSON.stringify({
      seconds,
      fixtures: { vendors: fixtureVendors, budget: fixtureBudget, misses: fixtureMisses, sites: sitesOut(fixtureRuns) },
      corpus: { goal: { ...CORPUS_GOAL, met: goalMet }, vendors: corpusVendors, patterns, budget: corpusBudget, misses: corpusMisses, sites: sitesOut(corpusRuns) },
    }, null, 2));
  }
}

await main();
