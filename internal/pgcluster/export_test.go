package pgcluster

// Alive exposes the zombie-aware liveness check to the external tests.
var Alive = alive

// Abandon releases c's lock without stopping its server, as if the owner had died and the
// parent-death signal had been lost, leaving a postmaster nobody owns.
func Abandon(c *Cluster) int {
	pid := c.proc.proc.Pid
	c.release()
	return pid
}
