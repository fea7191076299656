// keys create|list|revoke: API keys with a role for people and programs, so that nobody but the
// project's admin needs the service key (the web app signs in with one of these).
import type { Command } from "commander";
import { connect } from "../api.ts";
import { examples } from "../args.ts";
import { badInput } from "../errors.ts";
import { ago, printJson, table } from "../output.ts";
import type { ApiKeyCreated, ApiKeyList, ApiKeyRevoked } from "../types.ts";

const ROLES = ["viewer", "operator"];

export function registerKeysCommands(program: Command): void {
  const keys = program.command("keys")
    .description("API keys with a role: viewer (reads) or operator (also creates runs, decides, cancels, edits the suppression list)")
    .addHelpText("after", examples("pm-leads keys create --name alice --role operator", "pm-leads keys list", "pm-leads keys revoke alice"));

  keys.command("create")
    .description("make a key and print it once (only its SHA-256 is stored: it cannot be shown again)")
    .requiredOption("--name <name>", "who uses it (letters, digits, . _ -): the run's events name it for what it does")
    .requiredOption("--role <role>", "viewer or operator")
    .option("--json", "print the key and its details as JSON")
    .action(async (o) => {
      if (!ROLES.includes(o.role)) throw badInput(`--role must be viewer or operator (got "${o.role}")`);
      const { data } = await connect().post<ApiKeyCreated>("runs/keys", { name: o.name, role: o.role });
      if (o.json) return printJson(data);
      console.log(data.key);
      process.stderr.write(`made the ${data.role} key "${data.name}": keep it now, it is not shown again\n`);
    });

  keys.command("list")
    .description("every key with its role and when it was last used (never the keys themselves)")
    .option("--json", "print the list as JSON")
    .action(async (o) => {
      const data = await connect().get<ApiKeyList>("runs/keys");
      if (o.json) return printJson(data);
      if (data.keys.length === 0) return console.log("no API keys yet (pm-leads keys create --name NAME --role ROLE)");
      console.log(table(["NAME", "ROLE", "CREATED", "LAST USED", "REVOKED"], data.keys.map((k) => [
        k.name, k.role, ago(k.created_at), k.last_used_at ? ago(k.last_used_at) : null, k.revoked_at ? ago(k.revoked_at) : null,
      ])));
    });

  keys.command("revoke <name>")
    .description("revoke the live key of that name: it is refused from the next request on")
    .option("--json", "print the result as JSON")
    .action(async (name: string, o) => {
      const { data } = await connect().post<ApiKeyRevoked>(`runs/keys/${encodeURIComponent(name)}/revoke`);
      if (o.json) return printJson(data);
      console.log(`revoked the key "${data.name}"`);
    });
}
