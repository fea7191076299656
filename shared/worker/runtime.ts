// The one worker runtime of every worker kind. One invocation:
//   register (unless the kind already has its concurrency of live workers)
//   loop: claim -> work, with a heartbeat that renews the lease (a lost lease aborts the work and
//         nothing of it is written) -> commit the result and complete, fenced by the lease token,
//         and claim the next task in the same transaction (one commit per task);
//         or fail with a classified error (the SQL decides retry with backoff or failed for good)
//   stop when the queue is empty (after lingering a few seconds, woken by NOTIFY if a task comes)
//   or the time budget is spent; on shutdown release the lease. Idle, it waits for the database's
//   NOTIFY that a task of its kind is ready (wake.ts), and polls all the same, as a safety net.
// It knows task kinds only by this file's WorkerKind: what a kind works with (its Tools), and what it
// does around the work (admit, afterCall: the pipeline's budget and usage) are the kind's own.
import type { Sql, TransactionSql } from "postgres";
import { LEASE_LOST, queue, type Task } from "../queue/client.ts";
import { withRetry, type AttemptRecord } from "./retry.ts";
import type { WorkerConfig } from "./config.ts";
import { classifyFailure, type Failure } from "./failure.ts";
import { redact } from "../secrets/redact.ts";
import { listenDecision, TASK_READY_CHANNEL } from "./wake.ts";

export type { Failure };

/**
 * What the worker gives a provider call so that it can be picked up by a later attempt: the values
 * saved for this task (earlier attempts' and this one's), a save fenced by the task's lease (it
 * throws, e.g. LeaseLost, when the lease is gone: then the call stops), and when the worker's time
 * budget ends.
 */
export interface CallCheckpoints {
  saved(name: string): unknown;
  save(name: string, value: unknown): Promise<void>;
  /** epoch ms at which the worker's time budget ends */
  deadline: number;
  /** whether the call is still wanted (a kind may say no, e.g. its run was cancelled): a call in
   * progress is then cancelled, not waited for */
  wanted?(): Promise<boolean>;
}

export type WorkContext<Tools = object> = Tools & {
  /** for reads only: every write goes through the kind's commit (or a lease-fenced SQL function) */
  sql: Sql;
  signal: AbortSignal;
  config: WorkerConfig;
  /** runs a call (e.g. a provider's) with the in-invocation retry policy, recording every failed
   * attempt; the kind's afterCall runs after each try, whatever its outcome */
  retry<T>(call: () => Promise<T>): Promise<T>;
  /** the value `name` had in an earlier attempt of this task (a paid answer), or call()'s, saved under
   * the lease before it is used: an attempt cut short later does not pay for it again */
  once<T>(name: string, call: () => Promise<T>): Promise<T>;
  /** the task's checkpoint for a call that spans attempts (a background response's id): read, and
   * written under the lease (a lost lease throws LeaseLost); with the time budget's end */
  checkpoints: CallCheckpoints;
};

/** What a kind's hooks are given. */
export interface HookScope<Tools> {
  sql: Sql;
  tools: Tools;
  log: (event: WorkerEvent) => void;
}

/**
 * Whether a claimed task is worked on: "work"; or not, because the hook gave the task back untried
 * (`deferred`: why, for the log) or found its lease lost.
 */
export type Admission = "work" | "lease lost" | { deferred: string };

export interface WorkerKind<Tools = object> {
  kind: string;
  /** does one task's work without writing anything; returns what commit writes */
  work(task: Task, context: WorkContext<Tools>): Promise<Record<string, unknown>>;
  /** writes the result and completes the task (raises PM001 if the lease is lost); the runtime may
   * run it inside a transaction of its own, together with the claim of the next task */
  commit(sql: Sql | TransactionSql, task: Task, result: Record<string, unknown>): Promise<unknown>;
  /** how an error of work() ends the attempt; the failure contract's reading (classifyFailure) when absent */
  classify?(error: unknown): Failure;
  /** the most one task may take with these tools (e.g. the provider's timeout and the PMS check's
   * deadline): a task is claimed only with this much of the time budget left */
  secondsNeeded?(tools: Tools): number;
  /** what secondsNeeded is made of and which setting shortens it: for the error when the time budget is too short */
  secondsNeededBy?: string;
  /** asked once a task is claimed, before any work is done on it (e.g. a budget reserved for its calls) */
  admit?(task: Task, scope: HookScope<Tools>): Promise<Admission>;
  /** after every try of a call made through retry(), and once more when the task ends, whatever
   * became of it (e.g. what the calls cost is put on record) */
  afterCall?(task: Task, scope: HookScope<Tools>): Promise<void>;
}

export interface WorkerSummary {
  workerId: string;
  kind: string;
  claimed: number;
  completed: number;
  failed: number;
  lost: number;
  released: number;
  stoppedBecause: "queue empty" | "time budget" | "shutdown" | "concurrency limit";
}

export type WorkerEvent = { event: string; task?: string; detail?: string };

export interface WorkerDeps<Tools> {
  sql: Sql;
  kind: WorkerKind<Tools>;
  tools: Tools;
  config: WorkerConfig;
  workerId: string;
  log?: (event: WorkerEvent) => void;
  /** stored with the worker's row (e.g. which provider it uses) */
  metadata?: Record<string, unknown>;
}

/** The task's lease went to another worker: nothing more may be written for it. */
export class LeaseLost extends Error {
  constructor(id: string) {
    super(`lease of task ${id} lost`);
  }
}
class Shutdown extends Error {}

/** A message an operator understands, with the attempts made inside this invocation. */
function describe(error: unknown, attempts: AttemptRecord[]): string {
  const message = error instanceof Error ? error.message : String(error);
  return redact(attempts.length > 1 ? `${message} (after ${attempts.length} tries: ${attempts.map((a) => a.kind).join(", ")})` : message);
}

export class Worker<Tools = object> {
  private stopping: Shutdown | null = null;
  private current: { task: Task; controller: AbortController } | null = null;
  private wakeUp: (() => void) | null = null;
  /** a NOTIFY (or a re-established LISTEN) said a task may be ready since the last claim */
  private taskReady = false;
  /** LISTEN is in place: an idle worker is woken at once, so it may linger */
  private listening = false;
  private releasing: Promise<void> = Promise.resolve();
  private readonly q;
  readonly summary: WorkerSummary;

  private readonly sql: Sql;
  private readonly kind: WorkerKind<Tools>;
  private readonly tools: Tools;
  private readonly config: WorkerConfig;
  private readonly log: (event: WorkerEvent) => void;
  private readonly metadata: Record<string, unknown>;
  readonly workerId: string;
  /** what one task may take: claimed only with this much of the time budget left */
  private readonly secondsNeeded: number;

  constructor(deps: WorkerDeps<Tools>) {
    ({ sql: this.sql, kind: this.kind, tools: this.tools, config: this.config, workerId: this.workerId } = deps);
    this.metadata = deps.metadata ?? {};
    this.log = deps.log ?? (() => {});
    this.q = queue(this.sql);
    this.summary = { workerId: this.workerId, kind: this.kind.kind, claimed: 0, completed: 0, failed: 0, lost: 0, released: 0, stoppedBecause: "queue empty" };
    this.secondsNeeded = Math.max(this.config.minTaskSeconds, this.kind.secondsNeeded?.(this.tools) ?? 0);
    if (this.secondsNeeded > this.config.timeBudgetSeconds) {
      const why = this.kind.secondsNeededBy ? `: ${this.kind.secondsNeededBy}` : "";
      throw new Error(`WORKER_TIME_BUDGET_SECONDS (${this.config.timeBudgetSeconds}) is shorter than one ${this.kind.kind} task may take ` +
        `(${this.secondsNeeded} s${why}): raise it`);
    }
  }

  /** Runs until the queue is empty, the budget is spent or shutdown() is called. */
  async run(): Promise<WorkerSummary> {
    const deadline = Date.now() + this.config.timeBudgetSeconds * 1000;
    const needed = this.secondsNeeded;
    const [registered] = await this.sql`
      select pm_pipeline.register_worker(${this.workerId}, ${this.kind.kind}, ${this.sql.json(this.metadata as never)}) as ok`;
    if (!registered.ok) {
      this.summary.stoppedBecause = "concurrency limit";
      return this.summary;
    }
    this.log({ event: "started" });
    // beside the first claim, not before it: a cold start does not wait for the LISTEN connection
    const listener = this.listen();
    let idleSince: number | null = null;
    let lastBeat = 0;
    let claimed: Task | undefined; // claimed with the previous task's completion (within the budget)
    try {
      while (!this.stopping) {
        if (!claimed && deadline - Date.now() < needed * 1000) {
          this.summary.stoppedBecause = "time budget";
          break;
        }
        this.taskReady = false; // this claim sees every task notified so far
        const task = claimed ?? (await this.q.claim(this.workerId, [this.kind.kind]))[0];
        claimed = undefined;
        const stopped = this.stopping as Shutdown | null; // (set by shutdown() during the await)
        if (task && stopped) {
          // shut down while the claim was on its way: give the task straight back
          if (await this.q.release(task, `released: ${stopped.message}`)) this.summary.released++;
          break;
        }
        if (task) {
          idleSince = null;
          claimed = await this.process(task, deadline);
          continue;
        }
        // Nothing ready. While tasks of this kind are queued for later (retries) or running elsewhere
        // (whose worker may have crashed), wait for a while: a waiting worker takes over an expired
        // lease at once. With nothing queued or running, a listening worker lingers (a NOTIFY wakes
        // it for the next task, no cold start), then stops; new tasks and pg_cron dispatch workers
        // again. Every wait ends early on a NOTIFY and late at the poll interval (a missed NOTIFY).
        const [next] = await this.sql`select extract(epoch from pm_pipeline.next_task_due(${this.kind.kind}) - now()) * 1000 as ms`;
        idleSince ??= Date.now();
        const idleMs = Date.now() - idleSince;
        let waitMs: number;
        if (next.ms === null) {
          // a worker that only polls stops at once: a fresh invocation would answer sooner than its poll
          await listener; // (connecting beside the first claim: in place by now, or failed)
          const lingerMs = this.listening ? this.config.lingerSeconds * 1000 : 0;
          if (idleMs >= lingerMs) {
            const [stop] = await this.sql`select pm_pipeline.worker_may_stop(${this.workerId}, ${this.kind.kind}) as ok`;
            if (stop.ok) break;
            continue; // tasks arrived meanwhile
          }
          waitMs = Math.min(this.config.pollMs, lingerMs - idleMs);
        } else {
          if (idleMs > this.config.idleWaitSeconds * 1000) break;
          const dueMs = Number(next.ms);
          waitMs = dueMs > 0 ? Math.min(this.config.pollMs, dueMs + 20) : this.config.pollMs;
        }
        if (Date.now() - lastBeat > this.config.heartbeatSeconds * 1000) {
          await this.q.workerHeartbeat({ workerId: this.workerId, workerType: this.kind.kind, status: "idle" });
          lastBeat = Date.now();
        }
        await this.idle(waitMs);
      }
      if (this.stopping) this.summary.stoppedBecause = "shutdown";
      // shut down while a completion brought the next task along: give it straight back
      if (claimed && (await this.q.release(claimed, `released: ${this.stopping?.message ?? "worker stopped"}`))) {
        this.summary.released++;
      }
    } finally {
      this.listening = false;
      // not awaited: a LISTEN still connecting must not hold the worker up; it is undone once in place
      void listener.then((l) => l?.unlisten()).catch(() => {});
      await this.releasing; // the lease goes back with the shutdown's reason, then the worker stops
      await this.q.stopWorker(this.workerId, "worker stopped");
      // close the race with a dispatch that counted this worker as alive while it was leaving
      if (!this.stopping) await this.sql`select pm_pipeline.dispatch_workers(${this.kind.kind})`;
      this.log({ event: "stopped", detail: this.summary.stoppedBecause });
    }
    return this.summary;
  }

  /** Stops claiming, aborts the current task and gives its lease back (beforeunload, SIGTERM). */
  async shutdown(reason: string): Promise<void> {
    this.stopping = new Shutdown(reason);
    this.wakeUp?.();
    const current = this.current;
    if (current) {
      current.controller.abort(this.stopping);
      this.releasing = this.q.release(current.task, `released: ${reason}`)
        .then((state) => void (state && this.summary.released++), () => {});
      await this.releasing;
    }
  }

  /**
   * LISTENs for its kind's task-ready notifications, when WORKER_LISTEN and the connection allow
   * it; null (the worker polls) when they do not or the LISTEN fails.
   */
  private async listen(): Promise<{ unlisten(): Promise<unknown> } | null> {
    const decision = listenDecision(this.config.listen, this.sql);
    if (!decision.listen) {
      this.log({ event: "polling", detail: decision.why });
      return null;
    }
    const ready = () => {
      this.taskReady = true;
      this.wakeUp?.();
    };
    try {
      // the second callback runs whenever the LISTEN is (re-)established: what was notified while
      // its connection was down is lost, so one claim looks for it
      const listener = await this.sql.listen(TASK_READY_CHANNEL, (kind) => void (kind === this.kind.kind && ready()), ready);
      this.listening = !this.stopping;
      return listener;
    } catch (error) {
      this.log({ event: "listen failed", detail: `${redact(error instanceof Error ? error.message : String(error))}; polling` });
      return null;
    }
  }

  private idle(ms: number): Promise<void> {
    if (this.taskReady || this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** Works one task; returns the next one when its completion claimed it. */
  private async process(task: Task, deadline: number): Promise<Task | undefined> {
    this.summary.claimed++;
    // current before the first await: a shutdown from now on aborts this task and gives its lease back
    const controller = new AbortController();
    this.current = { task, controller };
    const scope: HookScope<Tools> = { sql: this.sql, tools: this.tools, log: this.log };
    const admission = this.kind.admit ? await this.kind.admit(task, scope) : "work";
    if (admission !== "work") {
      if (admission === "lease lost") {
        this.summary.lost++; // another worker owns the task now (this one was paused or slow)
        this.log({ event: "lease lost", task: task.id });
      } else {
        this.log({ event: "deferred", task: task.id, detail: admission.deferred });
      }
      this.current = null;
      return undefined;
    }
    const afterCall = async () => await this.kind.afterCall?.(task, scope);
    const attempts: AttemptRecord[] = [];
    const heartbeat = setInterval(async () => {
      try {
        if (!(await this.q.heartbeat(task))) controller.abort(new LeaseLost(task.id));
      } catch {
        // a failed heartbeat is retried at the next tick; the lease expires if they keep failing
      }
    }, this.config.heartbeatSeconds * 1000);
    // the time budget ends the work, not the wall clock of the platform
    const budget = setTimeout(() => controller.abort(new Shutdown("time budget spent")), Math.max(0, deadline - Date.now()));
    const context: WorkContext<Tools> = {
      ...this.tools,
      sql: this.sql,
      signal: controller.signal,
      config: this.config,
      retry: (call) => withRetry(async () => {
        try {
          return await call();
        } finally {
          await afterCall(); // e.g. a billed answer is on record before anything else can go wrong
        }
      }, { policy: this.config.retry, signal: controller.signal, log: attempts }),
      once: (name, call) => this.once(task, name, call),
      checkpoints: this.checkpointsOf(task, deadline),
    };
    try {
      controller.signal.throwIfAborted();
      const result = await this.kind.work(task, context);
      controller.signal.throwIfAborted();
      const next = await this.commitAndClaim(task, { ...result, attempts }, deadline);
      this.summary.completed++;
      this.log({ event: "completed", task: task.id });
      return next;
    } catch (error) {
      await this.settle(task, controller.signal.aborted ? controller.signal.reason : error, attempts);
    } finally {
      clearInterval(heartbeat);
      clearTimeout(budget);
      this.current = null;
      await afterCall();
    }
    return undefined;
  }

  /**
   * The kind's commit and, when another task fits the time budget and no shutdown is pending, the
   * claim of the next task in the same transaction: one commit (one fsync) per task instead of two,
   * and the two statements pipelined. A lost lease (PM001) rolls the claim back with the commit.
   */
  private async commitAndClaim(task: Task, result: Record<string, unknown>, deadline: number): Promise<Task | undefined> {
    if (this.stopping || deadline - Date.now() < this.secondsNeeded * 1000) {
      await this.kind.commit(this.sql, task, result);
      return undefined;
    }
    const [, [next]] = await this.sql.begin((tx) => [
      this.kind.commit(tx, task, result),
      queue(tx).claim(this.workerId, [this.kind.kind]),
    ] as const);
    return next;
  }

  private async once<T>(task: Task, name: string, call: () => Promise<T>): Promise<T> {
    const saved = task.checkpoint?.[name];
    if (saved !== undefined) {
      this.log({ event: "checkpoint used", task: task.id, detail: name });
      return saved as T;
    }
    const value = await call();
    const [row] = await this.sql`
      select pm_pipeline.save_checkpoint(${task.id}, ${task.lease_token}, ${name}, ${this.sql.json(value as never)}) as ok`;
    if (!row.ok) throw new LeaseLost(task.id);
    return value;
  }

  /** The task's checkpoint, read and written under its lease; what this attempt saved is seen by its own retries. */
  private checkpointsOf(task: Task, deadline: number): CallCheckpoints {
    const saved: Record<string, unknown> = { ...task.checkpoint };
    return {
      deadline,
      saved: (name) => saved[name] ?? undefined,
      save: async (name, value) => {
        const [row] = await this.sql`
          select pm_pipeline.save_checkpoint(${task.id}, ${task.lease_token}, ${name}, ${this.sql.json(value as never)}) as ok`;
        if (!row.ok) throw new LeaseLost(task.id);
        saved[name] = value;
      },
    };
  }

  private async settle(task: Task, error: unknown, attempts: AttemptRecord[]): Promise<void> {
    if (error instanceof LeaseLost || (error as { code?: string })?.code === LEASE_LOST) {
      this.summary.lost++; // another worker owns the task now: write nothing
      this.log({ event: "lease lost", task: task.id });
      return;
    }
    if (error instanceof Shutdown) {
      if (this.stopping) return; // shutdown() released it
      const state = await this.q.release(task, `released: ${error.message}`);
      if (state) this.summary.released++;
      return;
    }
    const state = await this.q.fail(task, describe(error, attempts), (this.kind.classify ?? classifyFailure)(error));
    if (state === null) this.summary.lost++;
    else this.summary.failed++;
    this.log({ event: "failed", task: task.id, detail: describe(error, attempts) });
  }
}

