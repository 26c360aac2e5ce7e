package pgcluster

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
)

// account is the OS user that initdb and postgres run as.
type account struct {
	name   string
	uid    int
	gid    int
	groups []uint32
	// switchUser is set when we are root and must setuid to this account; otherwise the
	// server runs as the current user and nothing needs chowning.
	switchUser bool
}

func runAsAccount() (account, error) {
	if os.Geteuid() != 0 {
		return account{name: "current user", uid: os.Geteuid(), gid: os.Getegid()}, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return account{}, fmt.Errorf("PostgreSQL refuses to run as root and there is no \"postgres\" OS user to run it as (create one, e.g. useradd --system postgres, or run vindex as a non-root user): %w", err)
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return account{}, fmt.Errorf("postgres user uid %q: %w", u.Uid, err)
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		return account{}, fmt.Errorf("postgres user gid %q: %w", u.Gid, err)
	}
	a := account{name: u.Username, uid: uid, gid: gid, switchUser: true}
	gids, err := u.GroupIds()
	if err != nil {
		return account{}, fmt.Errorf("groups of user postgres: %w", err)
	}
	for _, g := range gids {
		if n, err := strconv.Atoi(g); err == nil {
			a.groups = append(a.groups, uint32(n))
		}
	}
	return a, nil
}

func (a account) credential() *syscall.Credential {
	if !a.switchUser {
		return nil
	}
	return &syscall.Credential{Uid: uint32(a.uid), Gid: uint32(a.gid), Groups: a.groups}
}

func (a account) chown(path string) error {
	if !a.switchUser {
		return nil
	}
	if err := os.Chown(path, a.uid, a.gid); err != nil {
		return fmt.Errorf("chown %s to %s: %w", path, a.name, err)
	}
	return nil
}

// errNotTraversable is wrapped by checkTraversable so callers and tests can recognise it.
var errNotTraversable = errors.New("not traversable")

// checkTraversable verifies that the account can reach dir, because otherwise postgres fails
// with a bare "permission denied" on a path the user never typed. It reads mode bits only;
// ACLs are not consulted.
func (a account) checkTraversable(dir string) error {
	if !a.switchUser {
		return nil
	}
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("stat %s: %w", p, err)
		}
		if !a.canSearch(fi) {
			return fmt.Errorf("cluster dir %s: parent %s (mode %v) is %w by OS user %s, which PostgreSQL runs as because it refuses to run as root; choose a data dir that user can reach (not under /root), e.g. /var/lib/vindex, or let it through with chmod o+x %s",
				dir, p, fi.Mode().Perm(), errNotTraversable, a.name, p)
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

func (a account) canSearch(fi os.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return true
	}
	mode := fi.Mode().Perm()
	switch {
	case int(st.Uid) == a.uid:
		return mode&0o100 != 0
	case int(st.Gid) == a.gid || slices.Contains(a.groups, st.Gid):
		return mode&0o010 != 0
	default:
		return mode&0o001 != 0
	}
}
