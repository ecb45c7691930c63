// Runs scenario runs on worker threads (ksim sweep, check, shrink and zoo): one worker per core by
// default, jobs handed out first come first served, every answer matched to its job. A run is a
// pure function of (scenario, seed, settings), so which worker runs it, and when, cannot change its
// result: callers order results by job, never by completion.
//
// Workers load the compiled dist/scenarios/pool-worker.js. From the TypeScript sources (vitest) the
// pool falls back to dist/, which the test suite's global setup builds first.

import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ConfigValue } from '../core/config.js';
import type { DeterminismReport } from '../sim/determinism.js';
import type { RunReport } from './runner.js';

/** A scenario as the workers receive it: its JSON and the source it came from. */
export interface PoolScenario {
  json: Record<string, unknown>;
  source: string;
}

export interface RunJob {
  /** Index into the pool's scenarios, or a scenario of its own (parsed by the worker for this job). */
  scenario: number | PoolScenario;
  seed: number;
  set: Readonly<Record<string, ConfigValue>>;
  maxEvents?: number;
}

export type WorkerRequest = { id: number; kind: 'run' | 'determinism'; job: RunJob };
export type WorkerReply = { id: number; report?: RunReport; determinism?: DeterminismReport; error?: string };

export function defaultWorkers(): number {
  return Math.max(1, availableParallelism());
}

function workerUrl(): URL {
  const here = new URL('./pool-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(here))) return here;
  const built = new URL('../dist/scenarios/pool-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(built))) return built;
  throw new Error('the worker script dist/scenarios/pool-worker.js is missing: run `npm run build`');
}

interface Pending {
  request: WorkerRequest;
  resolve: (r: WorkerReply) => void;
  reject: (e: Error) => void;
}

export class RunPool {
  readonly size: number;
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly queue: Pending[] = [];
  private readonly busy = new Map<Worker, Pending>();
  private nextId = 0;
  private failed: Error | undefined;
  private closed = false;

  constructor(scenarios: readonly PoolScenario[], workers: number) {
    this.size = Math.max(1, Math.floor(workers));
    const url = workerUrl();
    for (let i = 0; i < this.size; i++) {
      const w = new Worker(url, { workerData: { scenarios } });
      w.on('message', (reply: WorkerReply) => this.answered(w, reply));
      w.on('error', (e) => this.broken(w, e));
      w.on('exit', (code) => {
        if (!this.closed) this.broken(w, new Error(`a worker thread exited with code ${code}`));
      });
      this.workers.push(w);
      this.idle.push(w);
    }
  }

  /** Run one scenario run on some worker. */
  async run(job: RunJob): Promise<RunReport> {
    const reply = await this.submit('run', job);
    return reply.report as RunReport;
  }

  /** Run a scenario given as JSON (e.g. a shrinking candidate). */
  runScenarioJson(json: Record<string, unknown>, source: string, o: Omit<RunJob, 'scenario'>): Promise<RunReport> {
    return this.run({ ...o, scenario: { json, source } });
  }

  /** Two fresh runs with the trace recorded, compared (sim/determinism.ts), on one worker. */
  async determinism(job: RunJob): Promise<DeterminismReport> {
    const reply = await this.submit('determinism', job);
    return reply.determinism as DeterminismReport;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private submit(kind: WorkerRequest['kind'], job: RunJob): Promise<WorkerReply> {
    if (this.failed !== undefined) return Promise.reject(this.failed);
    if (this.closed) return Promise.reject(new Error('the run pool is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ request: { id: this.nextId++, kind, job }, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const w = this.idle.pop() as Worker;
      const p = this.queue.shift() as Pending;
      this.busy.set(w, p);
      w.postMessage(p.request);
    }
  }

  private answered(w: Worker, reply: WorkerReply): void {
    const p = this.busy.get(w);
    this.busy.delete(w);
    this.idle.push(w);
    if (p !== undefined) {
      if (reply.error !== undefined) {
        const { job } = p.request;
        p.reject(new Error(`seed ${job.seed}: ${reply.error}`));
      } else p.resolve(reply);
    }
    this.dispatch();
  }

  private broken(w: Worker, e: Error): void {
    this.failed ??= e;
    const p = this.busy.get(w);
    this.busy.delete(w);
    p?.reject(e);
    for (const q of this.queue.splice(0)) q.reject(e);
  }
}
