// pm-leads: lead lists of property-management companies, driven through the run API (the `runs`
// Edge Function) with supabase-js; `detect` alone runs locally. Exit codes: see cli/errors.ts.
import { Command } from "commander";
import { registerDetectCommand } from "./commands/detect.ts";
import { registerKeysCommands } from "./commands/keys.ts";
import { registerRunCommands } from "./commands/runs.ts";
import { registerSuppressCommands } from "./commands/suppress.ts";
import { registerWorkersCommand } from "./commands/workers.ts";
import { CliError, EXIT } from "./errors.ts";

const program = new Command("pm-leads")
  .description("Lead lists of property-management companies, researched and verified.\n" +
    "Talks to the run API at SUPABASE_URL with SUPABASE_SERVICE_ROLE_KEY (else the local stack's .local/stack.env).")
  .version("0.1.0")
  .showHelpAfterError("(add --help for usage)")
  // commander's own errors (unknown option, missing argument) in our format, then exit 2 below
  .configureOutput({ outputError: (text, write) => write(text.replace(/^error: /, "pm-leads: ")) })
  .exitOverride()
  .addHelpText("after", `
Exit codes: 0 done, 1 error, 2 bad input, 3 the run needs a decision, 130 stopped watching (Ctrl-C).
Run \`pm-leads <command> --help\` for a command's options and examples.`);

// `pm-leads list | head`: a reader that has gone is no error
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(EXIT.ok);
  throw error;
});

// subcommands copy the settings above, so register them after
registerRunCommands(program);
registerSuppressCommands(program);
registerWorkersCommand(program);
registerKeysCommands(program);
registerDetectCommand(program);

try {
  await program.parseAsync();
} catch (error) {
  const e = error as { code?: string; exitCode?: number };
  if (e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.code === "commander.help") process.exit(EXIT.ok);
  if (e.code?.startsWith("commander.")) process.exit(EXIT.badInput); // commander has said what was wrong
  const known = error instanceof CliError;
  // an unexpected failure keeps its stack for whoever reports it; ours are one line
  console.error(`pm-leads: ${known ? error.message : ((error as Error)?.stack ?? String(error))}`);
  process.exit(known ? error.exitCode : EXIT.error);
}
