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
