// What a waiting command shows on stderr: a bar per stage on a terminal, timestamped lines
// (only when something changed) anywhere else, so that logs stay readable.
import { MultiBar, Presets, type SingleBar } from "cli-progress";
import { clock } from "./output.ts";
import { companiesFound, progressSummary } from "./present.ts";
import type { Run, RunEvent } from "./types.ts";

/** Events already told (the run's history before the waiting began) are not told again. */
export abstract class ProgressView {
  private readonly seen: Set<string>;
  constructor(before: Run) {
    this.seen = new Set((before.events ?? []).map((e) => String(e.id)));
  }
  /** Events not shown yet, oldest first (the API lists them newest last). */
  protected newEvents(run: Run): RunEvent[] {
    const fresh = (run.events ?? []).filter((e) => !this.seen.has(String(e.id)));
    for (const e of fresh) this.seen.add(String(e.id));
    return fresh;
  }
  abstract update(run: Run): void;
  abstract stop(): void;
}

class Lines extends ProgressView {
  private last = "";

  update(run: Run) {
    for (const e of this.newEvents(run)) process.stderr.write(`${clock(new Date(e.at))} ${e.message}\n`);
    const line = `${run.status} ${run.stage}: ${progressSummary(run.progress)}`;
    if (line !== this.last) process.stderr.write(`${clock()} ${line}\n`);
    this.last = line;
  }

  stop() {}
}

const STAGES = [
  { stage: "company_discovery", label: "discovery" },
  { stage: "company_research", label: "research" },
  { stage: "contact_discovery", label: "contacts" },
] as const;

class Bars extends ProgressView {
  private readonly multibar = new MultiBar(
    { format: "{marker} {label} {bar} {detail}", barsize: 30, hideCursor: true, clearOnComplete: false, autopadding: true },
    Presets.shades_classic,
  );
  private readonly bars = new Map<string, SingleBar>();

  update(run: Run) {
    // each line erased first: a log line written over a taller bar block would keep the bar's tail
    for (const e of this.newEvents(run)) this.multibar.log(`\u001b[2K${clock(new Date(e.at))} ${e.message}\n`);
    const p = run.progress;
    const values: Record<string, [number, number, string]> = {
      company_discovery: [companiesFound(p), p.companies_target,
        `${companiesFound(p)} found for ${p.companies_target} wanted${p.discovery_exhausted ? ", no more to find" : ""}`],
      company_research: [p.companies_accepted, p.companies_target,
        `${p.companies_accepted}/${p.companies_target} accepted, ${p.companies_researched} researched, ${p.companies_rejected} rejected`],
      contact_discovery: [p.contacts_ready, p.contacts_needed, `${p.contacts_ready}/${p.contacts_needed} contacts ready`],
    };
    for (const { stage, label } of STAGES) {
      const [value, total, detail] = values[stage];
      const payload = { marker: run.stage === stage ? ">" : " ", label: label.padEnd(9), detail };
      const bar = this.bars.get(stage);
      if (bar) {
        bar.setTotal(Math.max(total, 1));
        bar.update(value, payload);
      } else this.bars.set(stage, this.multibar.create(Math.max(total, 1), value, payload));
    }
  }

  stop() {
    this.multibar.update(); // stop() alone would drop the events logged since the last redraw
    this.multibar.stop();
  }
}

export const progressView = (before: Run): ProgressView => (process.stderr.isTTY ? new Bars(before) : new Lines(before));
