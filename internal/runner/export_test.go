package runner

// Test hooks.

const (
	RoleAPI    = roleAPI
	RoleWorker = roleWorker
)

// ChildPID returns the pid of role's current child (0 if none).
func (s *Supervisor) ChildPID(role string) int {
	if c := s.current(role); c != nil && !c.exited() {
		return c.pid
	}
	return 0
}

// Home returns the resolved Home.
func (s *Supervisor) Home() string { return s.paths.home }

// Dotenv exposes the dotenv encoder.
var Dotenv = dotenv

// SetLocalWorkerLabel gives the Supervisor's own worker another label value, so that it
// takes no runs that select WorkerLabelValue.
func SetLocalWorkerLabel(o *Options, v string) { o.localLabel = v }

// Home returns the Worker's resolved Home.
func (w *Worker) Home() string { return w.paths.home }

// ChildPID returns the pid of the Worker's dagu worker (0 if none).
func (w *Worker) ChildPID() int {
	if c := w.current(roleWorker); c != nil && !c.exited() {
		return c.pid
	}
	return 0
}
