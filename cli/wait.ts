// Waiting for a run (run, decide, status --wait) and what follows its end: the CSVs, the decision
// to make, or the error. Ctrl-C stops the waiting only; the run goes on on the server.
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { EXCEL_BOM, exportFileName } from "../shared/export/csv.ts";
import { EXPORT_FORMATS, type ExportFormat } from "../shared/domain/export-formats.ts";
import { type Api, keepTrying } from "./api.ts";
import { CliError, EXIT, type ExitCode } from "./errors.ts";
import { printJson } from "./output.ts";
import { decisionCommands, decisionText } from "./present.ts";
import { progressView } from "./progress.ts";
import type { Run } from "./types.ts";

const POLL_MS = 1000;

export interface ExportOptions {
  outputDir: string;
  /** csv (the two CSVs, the default), hubspot or salesforce: the files of docs/exports.md */
  format?: ExportFormat;
  includeUnverifiedEmails?: boolean;
  excel?: boolean;
}

export interface FinishOptions extends ExportOptions {
  json?: boolean;
  /** seconds to ride out an unreachable API (see keepTrying) */
  retryWindow: number;
}

/** Writes the run's files in the format asked for (csv: the two CSVs), named as the old system named them; returns their absolute paths. */
export async function exportRun(api: Api, runId: string, options: ExportOptions): Promise<string[]> {
  const id = encodeURIComponent(runId);
  const query = options.includeUnverifiedEmails ? "?include_unverified_emails=true" : "";
  const files = EXPORT_FORMATS[options.format ?? "csv"];
  const texts = await Promise.all(files.map((file) => api.get<string>(`runs/${id}/${file}.csv${query}`)));
  mkdirSync(options.outputDir, { recursive: true });
  const at = new Date();
  return files.map((file, i) => {
    const path = resolve(join(options.outputDir, exportFileName(file, runId, at)));
    // the API's ?excel=1 byte order mark does not survive fetch's decoding of the text: added here
    writeFileSync(path, options.excel ? EXCEL_BOM + texts[i] : texts[i]);
    return path;
  });
}

/** Polls the run about once a second until it is no longer active. Null when the user pressed Ctrl-C. */
export async function waitForRun(api: Api, before: Run, retryWindow: number): Promise<Run | null> {
  const runId = before.id;
  const view = progressView(before);
  const interrupt = new AbortController();
  const onSigint = () => interrupt.abort();
  process.once("SIGINT", onSigint);
  try {
    for (;;) {
      const run = await keepTrying(() => api.get<Run>(`runs/${encodeURIComponent(runId)}`, interrupt.signal), retryWindow, interrupt.signal);
      view.update(run);
      if (run.status !== "active") return run;
      await sleep(POLL_MS, undefined, { signal: interrupt.signal });
    }
  } catch (error) {
    if (interrupt.signal.aborted) return null;
    throw error;
  } finally {
    view.stop();
    process.off("SIGINT", onSigint);
  }
}

/** Prints a run's outcome (exporting a completed one) and returns the exit code it deserves. */
export async function finishRun(api: Api, run: Run, options: FinishOptions): Promise<ExitCode> {
  switch (run.status) {
    case "completed": {
      const files = await keepTrying(() => exportRun(api, run.id, options), options.retryWindow);
      if (options.json) printJson({ ...run, files });
      else console.log(`run ${run.id} completed: ${run.notes ?? ""}\n${files.map((f) => `  wrote ${f}`).join("\n")}`);
      return EXIT.ok;
    }
    case "needs_user_decision":
      if (options.json) printJson({ ...run, decide_commands: decisionCommands(run).map((c) => c.command) });
      else console.log(decisionText(run));
      return EXIT.needsDecision;
    default: // error, cancelled
      if (options.json) printJson(run);
      throw new CliError(`run ${run.id} ended ${run.status}${run.notes ? `: ${run.notes}` : ""}`);
  }
}

/** Waits and finishes; without waiting, only says which run it is. Ctrl-C prints how to watch again. */
export async function waitAndFinish(api: Api, run: Run, options: FinishOptions & { wait: boolean }): Promise<ExitCode> {
  if (!options.wait) {
    if (options.json) printJson(run);
    else console.log(run.id);
    return EXIT.ok;
  }
  if (run.status !== "active") return finishRun(api, run, options);
  const ended = await waitForRun(api, run, options.retryWindow);
  if (!ended) {
    process.stderr.write(`\nstopped watching; run ${run.id} goes on. Watch it again with: pm-leads status ${run.id} --wait\n`);
    return EXIT.interrupted;
  }
  return finishRun(api, ended, options);
}
