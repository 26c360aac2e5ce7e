// Package pgcluster owns the PostgreSQL cluster that vindex runs for itself when the user
// gives no database URL: it creates the cluster on first use, starts it with the server,
// and stops it on shutdown.
//
// Layout of a cluster home (Options.Dir):
//
//	Dir/lock          flock held by the owning process for the life of the Cluster
//	Dir/data          the PostgreSQL data directory (initdb runs into Dir/data.initdb first
//	                  and is renamed, so an interrupted initdb never leaves a half-made cluster)
//	Dir/run           the unix socket directory (see below for long paths)
//	Dir/postgres.log  initdb and server output; rotated to postgres.log.1 at Start when large
//
// # Direct child, not pg_ctl
//
// The postmaster runs as a direct child of the vindex process, with the Linux parent-death
// signal set to SIGINT (PostgreSQL's "fast shutdown"). pg_ctl start -w was the alternative,
// but pg_ctl detaches the server (setsid), so any exit that skips Stop — a panic, a test
// timeout, kill -9 — would leave a postmaster running forever with nobody to stop it, and a
// test run would leak one per crashed test binary. As a child, the server shuts down cleanly
// whenever vindex dies, however it dies, and Stop can wait on it with an ordinary wait(2).
// The child gets its own process group so that a terminal's Ctrl-C reaches only vindex, which
// then stops PostgreSQL in order after draining its own requests.
//
// Recovery after kill -9: the parent-death signal already starts a fast shutdown, and the
// next Start, finding a postmaster that still runs on the data directory (identified by
// postmaster.pid and the process's working directory), stops it — first fast, then immediate,
// then SIGKILL — and starts a fresh one. A postmaster.pid left by a dead server is handled by
// PostgreSQL itself. Reusing a surviving postmaster was rejected: it is not our child, so we
// could neither wait for it nor tie its life to ours.
//
// # Unix socket only
//
// The server listens on no TCP address (listen_addresses is empty), only on a socket in Dir/run with
// mode 0700, so it never clashes with a system PostgreSQL on 5432, any number of clusters can
// run side by side, and "trust" authentication is safe: only the OS user running the server
// (and root) can reach the socket. A socket path is limited to 107 bytes; when Dir is too deep
// for that, the socket goes in a fresh private directory under os.TempDir (mode 0700, removed
// by Stop) rather than failing, because the data dir location is the user's choice.
//
// # Running as root
//
// PostgreSQL refuses to run as root. When vindex runs as root, initdb and postgres run as the
// "postgres" OS user, Dir is chowned to it, and Start checks up front that this user can
// traverse every parent of Dir (a data dir under /root cannot work).
//
// The package is Linux-first: other Unix systems lack the parent-death signal and /proc, so a
// server left running by a crashed vindex must be stopped by hand (Start then fails with
// PostgreSQL's "lock file already exists" in the quoted log).
package pgcluster
