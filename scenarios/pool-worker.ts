// A worker thread of scenarios/pool.ts: parses the pool's scenarios once, then runs jobs as they
// come and answers each with its report (or the determinism check's).

import { parentPort, workerData } from 'node:worker_threads';
import { checkDeterminism } from '../sim/determinism.js';
import type { PoolScenario, WorkerReply, WorkerRequest } from './pool.js';
import { runScenario, runScenarioDetailed } from './runner.js';
import { parseScenario, type Scenario } from './scenario.js';

const port = parentPort;
if (port === null) throw new Error('pool-worker.js runs only as a worker thread');
const scenarios: Scenario[] = (workerData as { scenarios: PoolScenario[] }).scenarios.map((p) => parseScenario(p.json, p.source));

port.on('message', (req: WorkerRequest) => {
  const { job } = req;
  const reply: WorkerReply = { id: req.id };
  try {
    const s = typeof job.scenario === 'number' ? scenarios[job.scenario] : parseScenario(job.scenario.json, job.scenario.source);
    if (s === undefined) throw new Error(`no scenario ${job.scenario}`);
    const opts = { seed: job.seed, set: job.set, ...(job.maxEvents !== undefined ? { maxEvents: job.maxEvents } : {}) };
    if (req.kind === 'run') {
      reply.report = runScenario(s, opts);
    } else {
      reply.determinism = checkDeterminism(() => {
        const { report, cluster } = runScenarioDetailed(s, { ...opts, record: true });
        return { hash: report.traceHash, records: cluster.world.trace.recorded };
      });
    }
  } catch (e) {
    reply.error = e instanceof Error ? e.message : String(e);
  }
  port.postMessage(reply);
});
