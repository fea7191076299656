// npm run chaos [-- --seeds 1-10] [--profile full|short] [--json results.json]
// Runs the chaos suite (tests/chaos/chaos.ts) once per seed on the local stack's database and
// prints the invariants as a table. Any violation fails it and names the seed to replay:
//   npm run chaos -- --seeds 7
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { printTable } from "../bench/table.ts";
import { PROFILES, runChaos, type ChaosReport } from "../tests/chaos/chaos.ts";

const { values: args } = parseArgs({
  options: {
    seeds: { type: "string", default: "1-10" },
    profile: { type: "string", default: "full" },
    json: { type: "string" },
    quiet: { type: "boolean", default: false },
  },
});
if (!(args.profile! in PROFILES)) {
  console.error(`--profile must be one of ${Object.keys(PROFILES).join(", ")}`);
  process.exit(2);
}
const seeds = args.seeds!.split(",").flatMap((part) => {
  const [from, to] = part.split("-").map(Number);
  if (!Number.isInteger(from) || (to !== undefined && !Number.isInteger(to))) {
    console.error(`--seeds takes numbers and ranges, e.g. 1-10 or 3,7 (got ${args.seeds})`);
    process.exit(2);
  }
  return Array.from({ length: (to ?? from) - from + 1 }, (_, i) => from + i);
});

const reports: ChaosReport[] = [];
for (const seed of seeds) {
  const report = await runChaos(seed, args.profile as keyof typeof PROFILES, args.quiet ? undefined : (line) => console.log(line));
  reports.push(report);
  console.log(`seed ${seed}: ${report.ok ? "ok" : "VIOLATED"} in ${report.seconds} s, runs ${JSON.stringify(report.runs)}, ` +
    `${report.tasks} tasks, ${report.attempts} attempts, ${report.providerCalls} provider calls, actions ${JSON.stringify(report.actions)}`);
  for (const i of report.invariants.filter((i) => i.violations)) console.log(`  ${i.name}: ${i.violations} violation(s) ${i.detail}`);
}

console.log();
printTable(["invariant", ...seeds.map((s) => `seed ${s}`)],
  reports[0].invariants.map((inv, n) => [inv.name, ...reports.map((r) => (r.invariants[n].violations ? `${r.invariants[n].violations} bad` : "ok"))]));
console.log();
printTable(["seed", "seconds", "runs", "tasks", "attempts", "calls", "kills", "zombies", "backends cut", "pg restarts"],
  reports.map((r) => [r.seed, r.seconds, Object.entries(r.runs).map(([s, n]) => `${n} ${s}`).join(", "), r.tasks, r.attempts, r.providerCalls,
    r.actions.host_killed, r.actions.host_paused_past_lease, r.actions.backends_terminated, r.actions.postgres_restarted]));
if (args.json) writeFileSync(args.json, JSON.stringify(reports, null, 2));
const failed = reports.filter((r) => !r.ok).map((r) => r.seed);
if (failed.length) {
  console.log(`\nviolated for seed(s) ${failed.join(", ")}: replay with npm run chaos -- --seeds ${failed.join(",")} --profile ${args.profile}`);
  process.exit(1);
}
console.log(`\nall invariants held for ${seeds.length} seed(s): ${args.seeds} (${args.profile} profile)`);
