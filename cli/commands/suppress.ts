// suppress add|remove|list|import: domains that no run may return (customers, competitors, opt-outs).
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { connect } from "../api.ts";
import { examples, number } from "../args.ts";
import { badInput } from "../errors.ts";
import { ago, printJson, table } from "../output.ts";
import type { SuppressionAdded, SuppressionList, SuppressionRemoved } from "../types.ts";
import { SUPPRESSION_CSV_FORMATS } from "../../shared/api/responses.ts";

function printAdded(result: SuppressionAdded, json: boolean | undefined) {
  if (json) return printJson(result);
  if (result.csv_format) {
    const skipped = [result.free_mail_skipped ? `${result.free_mail_skipped} row(s) with only a free-mail address` : "",
      result.no_domain ? `${result.no_domain} row(s) without a website, domain or e-mail` : ""].filter(Boolean);
    console.log(`read ${SUPPRESSION_CSV_FORMATS[result.csv_format]}${skipped.length ? `; skipped ${skipped.join(" and ")}` : ""}`);
  }
  const verb = result.preview ? "would suppress" : "suppressed";
  console.log(`${verb} ${result.domains.length} domain(s): ${result.added} new, ${result.already} already suppressed`);
  for (const domain of result.domains) console.log(`  ${domain}`);
}

function readCsv(file: string): string {
  try {
    return readFileSync(file === "-" ? 0 : file, "utf8");
  } catch (error) {
    throw badInput(`${file}: ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (error as Error).message}`);
  }
}

export function registerSuppressCommands(program: Command): void {
  const suppress = program.command("suppress")
    .description("manage the suppression list: domains no run returns")
    .addHelpText("after", examples("pm-leads suppress add acme-pm.com www.other.com --reason customer", "pm-leads suppress list", "pm-leads suppress import customers.csv --reason customer"));

  suppress.command("add <domain...>")
    .description("suppress domains (URLs and www. are normalised to the domain)")
    .option("--reason <reason>", "why, for whoever reads the list later")
    .option("--json", "print the result as JSON")
    .addHelpText("after", examples("pm-leads suppress add acme-pm.com https://www.other.com/about --reason 'existing customer'"))
    .action(async (domains: string[], o) => {
      const { data } = await connect().post<SuppressionAdded>("runs/suppression", { domains, reason: o.reason, source: "cli" });
      printAdded(data, o.json);
    });

  suppress.command("import <file>")
    .description("suppress every domain of a CSV file: a HubSpot or Salesforce export, or a domain, website or email column (- reads stdin)")
    .option("--reason <reason>", "why, for whoever reads the list later")
    .option("--preview", "show what would be suppressed, and what the file was taken for, without changing the list")
    .option("--json", "print the result as JSON")
    .addHelpText("after", examples("pm-leads suppress import hubspot-companies.csv --preview", "pm-leads suppress import hubspot-companies.csv --reason customer",
      "pm-leads suppress import salesforce-accounts.csv --reason customer", "cut -d, -f3 crm.csv | pm-leads suppress import -"))
    .action(async (file: string, o) => {
      const csv = readCsv(file);
      const body = o.preview ? { csv, preview: true } : { csv, reason: o.reason, source: "cli import" };
      const { data } = await connect().post<SuppressionAdded>("runs/suppression", body);
      printAdded(data, o.json);
    });

  suppress.command("remove <domain...>")
    .description("take domains off the suppression list")
    .option("--json", "print the result as JSON")
    .addHelpText("after", examples("pm-leads suppress remove acme-pm.com"))
    .action(async (domains: string[], o) => {
      const result = await connect().delete<SuppressionRemoved>("runs/suppression", { domains });
      if (o.json) printJson(result);
      else console.log(`removed ${result.removed} of ${domains.length} domain(s)`);
    });

  suppress.command("list")
    .description("list suppressed domains, alphabetically")
    .option("--limit <n>", "at most this many", number, 100)
    .option("--offset <n>", "skip this many", number, 0)
    .option("--json", "print the list as JSON")
    .addHelpText("after", examples("pm-leads suppress list", "pm-leads suppress list --json --limit 1000 | jq -r '.domains[].domain'"))
    .action(async (o) => {
      const result = await connect().get<SuppressionList>(`runs/suppression?${new URLSearchParams({ limit: String(o.limit), offset: String(o.offset) })}`);
      if (o.json) return printJson(result);
      if (result.domains.length === 0) return console.log(result.total ? `no domains past ${o.offset} (${result.total} in all)` : "no suppressed domains");
      console.log(table(["DOMAIN", "REASON", "SOURCE", "ADDED"], result.domains.map((d) => [d.domain, d.reason, d.source, ago(d.created_at)])));
      if (result.total > o.offset + result.domains.length) {
        process.stderr.write(`showing ${result.domains.length} of ${result.total}: use --limit and --offset for more\n`);
      }
    });
}
