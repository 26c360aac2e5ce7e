// Package runner owns vindex's embedded pipeline runner, Dagu 1.30: a typed client for its
// REST API v2 (Client) and a Supervisor that runs Dagu as child processes of vindex.
//
// # Topology
//
// Start launches two children, each in a session of its own, with Home as DAGU_HOME:
//
//   - `dagu start-all`: the API (127.0.0.1 only, headless, bearer-token auth), the scheduler
//     with its queue processor, and the coordinator (gRPC, 127.0.0.1, advertised as such);
//   - one `dagu worker` (id WorkerID, label WorkerLabelKey=WorkerLabelValue), which polls the
//     coordinator for runs and executes each as its own `dagu retry` agent process.
//
// Runs are submitted with Client.Enqueue as inline specs on a named queue whose
// maxConcurrency is Options.MaxConcurrency. A spec that carries WorkerSelectorYAML (and,
// as a safety net, every spec, through Home/base.yaml) is dispatched to the worker. Running
// runs on a worker rather than inside start-all is what keeps a long run from holding up the
// queue: a queue pass waits for the local runs it started (head-of-line blocking), but not for
// dispatched ones. The same topology scales out by starting workers with the same label on
// other machines that share Home/data.
//
// # Supervision
//
// A child that dies is restarted with backoff (0.5 s doubling to 10 s; after
// maxQuickCrashes quick deaths in a row the Supervisor gives up and closes Done). Runs survive
// either child's death: agents are separate processes. Before start-all is started again its
// scheduler lock is removed — Dagu leaves it behind even on a clean exit, and a new start-all
// would otherwise wait ~25 s for it, with the queue standing still — and after it is back the
// worker must show a heartbeat on the new coordinator within 10 s or it is restarted. A
// watchdog also restarts a worker whose heartbeat (every second) is 15 s old, and kills a
// start-all whose API has not answered for four checks in a row (5 s apart).
//
// Children die with vindex through the parent-death signal (SIGTERM), set from a goroutine
// locked to its OS thread for the child's life, since Linux ties that signal to the forking
// thread. Agents and steps are not our children and do not get it; they are found by the
// DAGU_HOME=<Home> entry in their environment (proc.go). The next Start on the Home stops
// whatever a crashed vindex left running, guarded by a flock so that two Supervisors never
// share a Home.
//
// Stop drains: Enqueue on the Supervisor's client fails with ErrStopping, the worker is
// told to stop (it exits without touching its agents), Stop waits until every agent and step
// of the Home has exited or its context ends, then stops start-all and terminates anything
// left. start-all is stopped last because SIGTERM makes it SIGKILL the agents of runs it
// executes itself (retries; runs without a worker selector) and orphan their steps.
//
// # Traps of Dagu 1.30.2 met here (see also /work/shared/docs/dagu.md)
//
//   - Steps do not inherit the environment of the Dagu processes: only PATH, HOME, LANG, TZ,
//     SHELL, LD_LIBRARY_PATH and DAGU_*, DAG_*, LC_* pass. Options.Env therefore reaches steps
//     through a dotenv file named in base.yaml; values are quoted so they arrive verbatim, and
//     a file the loader cannot parse would be skipped with only a warning in the run's log.
//   - $VAR and backticks in command text and params are evaluated by Dagu, so Enqueue accepts
//     only id-like param values, and tests put shell logic in script files.
//   - Agent sockets (/tmp/@dagu_<dag>_<md5(dag+run id)>.sock) are shared by every Dagu on the
//     machine; unique run ids keep them apart, and stale ones are removed at Start.
//   - Workers copy specs to $TMPDIR/dagu/; the children get TMPDIR=<Home>/tmp.
//   - Retries via the API run inside start-all, ignoring the worker selector, and one issued
//     within about a second of the run's end is silently dropped (Client.RetryStep waits).
//   - start-all does not exit when its API port is taken: it logs "Server failed to start"
//     and keeps scheduler and coordinator running. Start watches the log for it.
//   - GET /api/v2/workers lists workers with their last heartbeat (1 s resolution); a worker
//     that stopped beating stays listed, "warning" after ~5 s and "unhealthy" after ~15 s.
package runner
