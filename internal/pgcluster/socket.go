package pgcluster

import (
	"fmt"
	"os"
	"path/filepath"
)

// maxSocketPath is the longest unix socket path PostgreSQL accepts (sizeof(sun_path) - 1).
const maxSocketPath = 107

// socketName is the socket file inside the socket directory; the port only names the file,
// since the server listens on no TCP port.
const socketName = ".s.PGSQL.5432"

// makeSocketDir creates the directory for the server's socket: home/run when the socket path
// fits, else a fresh private directory under os.TempDir (temp reports that Stop must remove
// it). PostgreSQL keeps its socket files touched, so tmp cleaners leave a live one alone.
func makeSocketDir(home string, a account) (dir string, temp bool, err error) {
	dir = filepath.Join(home, "run")
	if len(filepath.Join(dir, socketName)) > maxSocketPath {
		if dir, err = os.MkdirTemp("", "vindex-pg-"); err != nil {
			return "", false, fmt.Errorf("socket dir: %w", err)
		}
		temp = true
		if n := len(filepath.Join(dir, socketName)); n > maxSocketPath {
			_ = os.Remove(dir)
			return "", false, fmt.Errorf("socket path %s is %d bytes, over the %d-byte limit for unix sockets: use a shorter data dir or TMPDIR",
				filepath.Join(dir, socketName), n, maxSocketPath)
		}
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", false, fmt.Errorf("socket dir: %w", err)
	}
	err = os.Chmod(dir, 0o700)
	if err == nil {
		err = a.chown(dir)
	}
	if err != nil {
		if temp {
			_ = os.Remove(dir)
		}
		return "", false, fmt.Errorf("socket dir: %w", err)
	}
	return dir, temp, nil
}
