// Worker health: the old Worker Health panel (active, dead, health, stats by type, dead-worker
// alert, active workers with their task) and the maintenance jobs that keep the queue moving.
import type { Workers } from "../../../shared/api/responses.ts";
import { useWorkers } from "../api/hooks.ts";
import { Badge, words, type Tone } from "../components/Badge.tsx";
import { LiveStatus } from "../components/LiveStatus.tsx";
import { Time, Until, ago } from "../components/Time.tsx";

const HEALTH: Record<Workers["health"], { tone: Tone; text: string }> = {
  healthy: { tone: "good", text: "healthy" },
  degraded: { tone: "bad", text: "degraded" },
  no_workers: { tone: "muted", text: "no workers" },
};
type Worker = Workers["workers"][number];
const STOPPED_SHOWN = 50;

const seconds = (w: Worker) => (w.seconds_since_heartbeat === null ? null : Number(w.seconds_since_heartbeat));

export function WorkersScreen() {
  const workers = useWorkers();
  const data = workers.data;
  const list = data?.workers ?? [];
  const live = list.filter((w) => w.alive);
  // dead: went silent without stopping (SIGKILL, a crash); stopped: ended on purpose (idle, SIGTERM)
  const gone = list.filter((w) => !w.alive && w.status !== "stopped");
  const stopped = list.filter((w) => !w.alive && w.status === "stopped");
  const dead = data?.dead ?? gone.length;
  // a dead worker that holds no lease any more is history, not a problem (the health says so too)
  const holding = data?.dead_holding_leases ?? gone.filter((w) => w.current_task).length;
  const health = data?.health ? HEALTH[data.health] : null;
  return (
    <section aria-labelledby="workers-title">
      <h1 id="workers-title">Workers</h1>
      <LiveStatus query={workers} />
      {dead > 0 && (holding > 0 ? (
        <div className="banner banner-bad" role="alert" data-testid="dead-banner">
          <strong>{dead} dead worker{dead === 1 ? "" : "s"}</strong>: stopped heartbeating; {holding} still hold{holding === 1 ? "s" : ""} a
          task, which goes back to the queue when its lease is released (pg_cron, within a minute).
        </div>
      ) : (
        <div className="banner banner-warn" role="status" data-testid="dead-banner">
          <strong>{dead} dead worker{dead === 1 ? "" : "s"}</strong>: stopped heartbeating; their tasks are back in the queue. Their rows go
          when they have been silent for an hour.
        </div>
      ))}
      {data && (
        <div className="tiles">
          <div className="tile"><span className="tile-label">Health</span>{health ? <Badge tone={health.tone}>{health.text}</Badge> : <span className="muted">—</span>}</div>
          <div className="tile"><span className="tile-label">Active</span><span className="tile-value num" data-testid="active-count">{data.active ?? live.length}</span></div>
          <div className="tile"><span className="tile-label">Dead</span><span className={`tile-value num${dead > 0 ? " bad" : ""}`} data-testid="dead-count">{dead}</span></div>
        </div>
      )}
      {data?.problems && data.problems.length > 0 && (
        <ul className="problems" aria-label="Problems">{data.problems.map((p) => <li key={p}>{p}</li>)}</ul>
      )}

      <h2>By worker type</h2>
      <div className="table-wrap" tabIndex={0} role="region" aria-label="Workers by type">
        <table>
          <thead><tr><th scope="col">Type</th><th scope="col">Total</th><th scope="col">Active</th><th scope="col">Idle</th><th scope="col">Processing</th><th scope="col">Dead</th><th scope="col">Stopped</th></tr></thead>
          <tbody>
            {(data?.stats ?? []).map((s) => (
              <tr key={s.worker_type}>
                <th scope="row">{words(s.worker_type)}</th>
                <td className="num">{s.total}</td><td className="num">{s.active}</td><td className="num">{s.idle}</td>
                <td className="num">{s.processing}</td><td className={`num${Number(s.dead) > 0 ? " bad" : ""}`}>{s.dead}</td><td className="num">{s.stopped}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>

      <h2>Live workers <span className="count">{live.length}</span></h2>
      {data && live.length === 0 && <p className="empty">No worker is running: they start when there is work.</p>}
      <ul className="workers">{live.map((w) => <WorkerCard key={w.worker_id} worker={w} />)}</ul>

      <h2>Dead <span className="count">{gone.length}</span></h2>
      {data && gone.length === 0 && <p className="empty">None.</p>}
      <ul className="workers">{gone.map((w) => <WorkerCard key={w.worker_id} worker={w} />)}</ul>

      {/* workers start on demand and stop when idle: many, and normal, so folded and compact */}
      <details className="group" data-group="stopped">
        <summary><h2 className="inline">Recently stopped <span className="count">{stopped.length}</span></h2></summary>
        <div className="table-wrap" tabIndex={0} role="region" aria-label="Recently stopped workers">
          <table>
            <thead><tr><th scope="col">Worker</th><th scope="col">Type</th><th scope="col">Last beat</th><th scope="col">Started</th></tr></thead>
            <tbody>
              {stopped.slice(0, STOPPED_SHOWN).map((w) => (
                <tr key={w.worker_id} data-worker={w.worker_id} data-status={w.status}>
                  <td className="mono">{w.worker_id}</td><td>{words(w.worker_type)}</td>
                  <td>{seconds(w) === null ? "—" : ago(seconds(w)!)}</td><td><Time at={w.started_at} relative /></td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {stopped.length > STOPPED_SHOWN && <p className="muted">and {stopped.length - STOPPED_SHOWN} more</p>}
      </details>

      <h2>Maintenance jobs</h2>
      {data && !data.maintenance && <p className="muted">This API does not report its maintenance jobs.</p>}
      <ul className="jobs">
        {(data?.maintenance ?? []).map((job) => (
          <li key={job.job} className={`card job${job.ok ? "" : " problem"}`} data-job={job.job}>
            <div className="run-head">
              <strong className="mono">{job.job}</strong>
              {job.ok ? <Badge tone="good">ok</Badge> : <Badge tone="bad">problem</Badge>}
              {!job.active && <Badge tone="warn">inactive</Badge>}
            </div>
            {job.problem && <p className="reason">{job.problem}</p>}
            <dl className="facts">
              <div><dt>Schedule</dt><dd className="mono">{job.schedule}</dd></div>
              <div><dt>Last run</dt><dd><Time at={job.last_run_at} relative /> {job.last_run_status && <Badge tone={job.last_run_status === "succeeded" ? "good" : "bad"}>{job.last_run_status}</Badge>}</dd></div>
              <div><dt>Last report</dt><dd><Time at={job.last_reported_at} relative /> {job.last_report != null && <code>{JSON.stringify(job.last_report)}</code>}</dd></div>
            </dl>
          </li>
        ))}
      </ul>
    </section>
  );
}

function WorkerCard({ worker }: { worker: Worker }) {
  const silent = seconds(worker);
  const task = worker.current_task;
  const tone: Tone = worker.alive ? (worker.status === "processing" ? "info" : "good") : worker.status === "dead" ? "bad" : "muted";
  return (
    <li className="card worker" data-worker={worker.worker_id} data-status={worker.status}>
      <div className="run-head">
        <strong className="mono">{worker.worker_id}</strong>
        <span className="badges"><Badge tone="muted">{words(worker.worker_type)}</Badge> <Badge tone={tone}>{worker.status}</Badge></span>
      </div>
      <dl className="facts">
        <div><dt>Last beat</dt><dd>{silent === null ? "—" : ago(silent)}</dd></div>
        <div><dt>Started</dt><dd><Time at={worker.started_at} relative /></dd></div>
        {task && <div><dt>Task</dt><dd>{words(task.kind)} <span className="mono">#{task.id}</span></dd></div>}
        {task?.run_id && <div><dt>Run</dt><dd><a href={`#/runs/${task.run_id}`} className="mono">{task.run_id.slice(0, 8)}</a></dd></div>}
        {task && <div><dt>Lease</dt><dd><Until at={task.lease_expires_at} /></dd></div>}
      </dl>
    </li>
  );
}
