// Package runner owns vindex's embedded pipeline runner, Dagu 1.30: a typed client for its
// REST API v2 (Client), a Supervisor that runs Dagu as child processes of vindex, and a
// Worker that runs pipeline steps on another machine for a Supervisor's coordinator.
//
// # Topology
//
// Start launches two children, each in a session of its own, with Home as DAGU_HOME:
//
//   - `dagu start-all`: the API (127.0.0.1 only, headless, bearer-token auth), the scheduler
//     with its queue processor, and the coordinator (gRPC; Options.CoordinatorAddr,
//     127.0.0.1 on a free port by default);
//   - one `dagu worker` (id WorkerID, label WorkerLabelKey=WorkerLabelValue), which polls the
//     coordinator for runs and executes each as its own `dagu retry` agent process.
//
// Runs are submitted with Client.Enqueue as inline specs on a named queue whose
// maxConcurrency is Options.MaxConcurrency. A spec that carries WorkerSelectorYAML (and,
// as a safety net, every spec, through Home/base.yaml) is dispatched to the worker. Running
// runs on a worker rather than inside start-all is what keeps a long run from holding up the
// queue: a queue pass waits for the local runs it started (head-of-line blocking), but not for
// dispatched ones. The same topology scales out with Workers on other machines.
//
// # Workers on other machines
//
// StartWorker runs one `dagu worker` with the same label (id WorkerOptions.ID) in a Home of
// its own, supervised like the Supervisor's children (group.go: restart with backoff, drain
// on Stop, cleanup of a crashed owner's processes by the DAGU_HOME marker). What Dagu 1.30.2
// demands of it:
//
//   - The coordinator's data directory, shared (NFS or the like): the coordinator hands a
//     queued run to a worker as a retry of the record start-all wrote at enqueue, which the
//     worker's agent reads from its own data dir ("dag-run ID not found" otherwise), and the
//     agent writes the run's status there. The gRPC API has only Dispatch, Poll, Heartbeat
//     and GetWorkers; shared-nothing workers (--worker.coordinators, status pushed over
//     gRPC) came in later Dagu versions. Step logs go to the log directory start-all
//     recorded, by absolute path, so the coordinator's whole Home should be mounted at the
//     same path on every worker machine.
//   - The coordinator's address reaches a 1.30 worker only through a file service registry
//     (no flag or setting): the Worker writes an entry for WorkerOptions.Coordinator into a
//     registry of its own and keeps its mtime fresh (entries 30 s old are dropped).
//   - A worker that knows a coordinator it cannot reach (down, or refusing its TLS) retries
//     without pause, logging up to ~65,000 lines a second. The Worker watches the log,
//     withdraws the entry and restarts the worker at the first such line (it caches
//     coordinators for 3 s), probes the address every 0.5 s, and publishes the entry again
//     and restarts the worker once it answers, so that it re-registers at once. The
//     Supervisor for its part drops a dead start-all's registry entry as soon as it died.
//   - A run executes from the snapshot start-all took at enqueue, with the coordinator's
//     base.yaml merged, wherever it runs: the worker's own base.yaml does not apply. Dagu
//     expands the dotenv path in the agent, though, so base.yaml names the step env file as
//     ${DAGU_HOME}/step.env, which is each machine's own Home: steps on a worker get the
//     worker's WorkerOptions.Env (its database URL, blob store, binary, owner).
//
// Security: the coordinator speaks plaintext h2c and has no authentication of its own.
// Whoever reaches its port can register as a worker (and be handed runs) or call Dispatch,
// which hands workers DAG definitions, that is commands to run. Keep it on loopback (the
// default) or a trusted network, firewalled to the worker machines, or use mutual TLS
// (Options.TLS, WorkerOptions.TLS: Dagu's peer.* settings, which 1.30.2 enforces: a worker
// without a certificate from the CA cannot connect).
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
// share a Home. Until then, vindex's steps stop themselves: they watch the process named by
// OwnerEnv in their environment (owner.go), and a step that outlives it does nothing.
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
//     A worker logs failed heartbeats but not successful ones, so a Worker, which has no
//     access to the coordinator's API, counts as connected after 1.5 s without errors.
package runner
