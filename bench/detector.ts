// PMS detector benchmark: runs the detector over every fixture site (tests/fixtures/pms-sites) through
// the local site server, as in production but with a short per-host interval, and prints per vendor
// the precision and recall of its "high" answers, then the pages read per company.
//
//   npm run bench:detector [-- --json results.json]
//
// A "high" is right when it names the vendor of the site's expected.json. A "high" for another vendor,
// or for a site whose truth is no vendor or a different one, is a false positive against the vendor
// it names. Recall counts the sites expected to be "high" (the evidence is there to be read politely);
// sites whose only evidence is hidden (robots.txt, text only, a migration) are in "sites" but not in
// the recall. Goal: precision 1.0, recall >= 0.9.
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { detectCompanyPms, type CompanyPmsResult } from "../shared/pms/detector/company-check.ts";
import { PMS_VENDORS } from "../shared/domain/pms-vendors.ts";
import { loadFixtureSites, startSiteServer, type FixtureSite } from "../tests/helpers/site-server.ts";
import { printTable } from "./table.ts";

const OPTIONS = { minIntervalMs: 20, timeoutMs: 2_000 };

interface Tally {
  sites: number;
  expectedHigh: number;
  truePositives: number;
  falsePositives: number;
}

const ratio = (part: number, whole: number) => (whole === 0 ? "n/a" : (part / whole).toFixed(2));

function tally(runs: { site: FixtureSite; result: CompanyPmsResult }[], vendor: string | null): Tally {
  const t: Tally = { sites: 0, expectedHigh: 0, truePositives: 0, falsePositives: 0 };
  for (const { site, result } of runs) {
    const truth = site.expected.pms;
    const claimed = result.confidence === "high" ? result.pms : null;
    const mine = (name: string | null) => name !== null && (vendor === null || name === vendor);
    if (mine(truth)) t.sites++;
    if (mine(truth) && site.expected.confidence === "high") {
      t.expectedHigh++;
      if (claimed === truth) t.truePositives++;
    }
    if (mine(claimed) && claimed !== truth) t.falsePositives++;
  }
  return t;
}

const row = (name: string, t: Tally) => [name, t.sites, t.expectedHigh, t.truePositives, t.falsePositives,
  ratio(t.truePositives, t.truePositives + t.falsePositives), ratio(t.truePositives, t.expectedHigh)];

async function main() {
  const { values: args } = parseArgs({ options: { json: { type: "string" } } });
  const sites = loadFixtureSites();
  const server = await startSiteServer(sites);
  const runs: { site: FixtureSite; result: CompanyPmsResult }[] = [];
  const started = performance.now();
  try {
    for (const site of sites) runs.push({ site, result: await detectCompanyPms(site.domain, { network: server.network, ...OPTIONS }) });
  } finally {
    await server.close();
  }
  const seconds = (performance.now() - started) / 1000;

  console.log(`PMS detector over ${sites.length} fixture sites (${seconds.toFixed(1)} s, ${OPTIONS.minIntervalMs} ms per-host interval)\n`);
  printTable(["vendor", "sites", "expected high", "high right", "high wrong", "precision", "recall"],
    [...PMS_VENDORS.map((v) => row(v.name, tally(runs, v.name))), row("all vendors", tally(runs, null))]);

  const pages = runs.map((r) => r.result.pages_fetched);
  const requests = runs.map((r) => r.result.fetched_urls.length);
  const mean = (xs: number[]) => (xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(1);
  console.log("");
  printTable(["per company", "mean", "max"], [
    ["pages read", mean(pages), Math.max(...pages)],
    ["requests (robots.txt, 404s, redirects too)", mean(requests), Math.max(...requests)],
  ]);

  const wrong = runs.filter(({ site, result }) => site.expected.pms !== result.pms || site.expected.confidence !== result.confidence);
  console.log(`\n${runs.length - wrong.length} of ${runs.length} sites gave exactly their expected pms and confidence.`);
  if (wrong.length) {
    printTable(["site", "expected", "got"], wrong.map(({ site, result }) =>
      [site.name, `${site.expected.pms} ${site.expected.confidence}`, `${result.pms} ${result.confidence}`]));
  }
  if (args.json) {
    const vendors = [...PMS_VENDORS.map((v) => ({ vendor: v.name, ...tally(runs, v.name) })), { vendor: "all vendors", ...tally(runs, null) }];
    const sitesOut = runs.map(({ site, result }) => ({ site: site.name, expected: site.expected, pms: result.pms, confidence: result.confidence,
      pages_fetched: result.pages_fetched, requests: result.fetched_urls.length }));
    writeFileSync(args.json, JSON.stringify({ seconds, vendors, sites: sitesOut }, null, 2));
  }
}

await main();
