package runner

// The embedded worker carries the label WorkerLabelKey=WorkerLabelValue, and a run goes to it
// when its DAG spec selects that label at the top level:
//
//	workerSelector:
//	  role: ingest
//	steps:
//	  - …
//
// In Dagu 1.30 workerSelector is a DAG-level key (a step-level one is rejected for ordinary
// command steps). A run whose selector no live worker matches stays "queued" until one
// registers; a run without a selector runs inside start-all, where it holds up the queue
// (head-of-line blocking) and is killed by start-all's SIGTERM. The Supervisor therefore
// also puts the selector in Home/base.yaml, which Dagu merges into every DAG, so a spec that
// forgets it still lands on the worker; specs should carry it anyway, so that they read the
// same against any Dagu.
const (
	WorkerLabelKey   = "role"
	WorkerLabelValue = "ingest"
	// WorkerSelectorYAML is the top-level spec block that dispatches runs to the worker.
	WorkerSelectorYAML = "workerSelector:\n  " + WorkerLabelKey + ": " + WorkerLabelValue + "\n"
)

// WorkerID is the id of the embedded worker; Run.WorkerID shows it for runs it executed.
const WorkerID = "vindex-local"
