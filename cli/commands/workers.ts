// workers: the health view of the old monitor daemon, from the run API.
import type { Command } from "commander";
import { connect } from "../api.ts";
import { examples } from "../args.ts";
import { printJson, table } from "../output.ts";
import type { Workers } from "../types.ts";

export function registerWorkersCommand(program: Command): void {
  program.command("workers")
    .description("worker health: healthy / degraded / no workers with its problems (dead workers holding leases, maintenance jobs not doing their work), per kind, then each worker with its current task")
    .option("--all", "also list stopped workers")
    .option("--json", "print stats and workers as JSON (stopped ones included)")
    .addHelpText("after", examples("pm-leads workers", "pm-leads workers --all", "pm-leads workers --json | jq '.workers[] | select(.alive | not)'"))
    .action(async (o) => {
      const data = await connect().get<Workers>("runs/workers");
      if (o.json) return printJson(data);
      console.log(`health: ${data.health} (${data.active} active, ${data.dead} dead)`);
      for (const problem of data.problems) console.log(`  problem: ${problem}`);
      console.log();
      if (data.stats.length === 0) return console.log("no workers have reported yet");
      console.log(table(["KIND", "TOTAL", "ACTIVE", "IDLE", "PROCESSING", "DEAD", "STOPPED"],
        data.stats.map((s) => [s.worker_type, s.total, s.active, s.idle, s.processing, s.dead, s.stopped])));
      // every invocation of a worker function leaves a stopped worker behind: those are noise here
      const shown = o.all ? data.workers : data.workers.filter((w) => w.status !== "stopped");
      console.log();
      if (shown.length === 0) return console.log("no running workers (--all lists stopped ones)");
      console.log(table(["WORKER", "KIND", "STATUS", "HEARTBEAT", "TASK"], shown.map((w) => [
        // a silent worker still shows its last status: that it is dead is what matters
        w.worker_id, w.worker_type, w.status === "stopped" || w.alive ? w.status : "DEAD",
        w.seconds_since_heartbeat === null ? null : `${Math.round(Number(w.seconds_since_heartbeat))}s ago`,
        w.current_task ? `${w.current_task.kind} ${w.current_task.id}` : null,
      ])));
    });
}
