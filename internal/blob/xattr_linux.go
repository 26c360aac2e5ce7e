package blob

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

const contentTypeAttr = "user.vindex.content_type"

// setContentType records ct on f. A filesystem without user xattrs
// (ENOTSUP) is not an error: reads then derive the type from the key.
func setContentType(f *os.File, ct string) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.Fsetxattr(int(fd), contentTypeAttr, []byte(ct), 0)
	}); err != nil {
		return err
	}
	if errors.Is(serr, unix.ENOTSUP) {
		return nil
	}
	return serr
}

// fileContentType reads what setContentType recorded on f.
func fileContentType(f *os.File) (string, bool) {
	rc, err := f.SyscallConn()
	if err != nil {
		return "", false
	}
	var ct string
	var ok bool
	if err := rc.Control(func(fd uintptr) {
		ct, ok = readAttr(func(dest []byte) (int, error) { return unix.Fgetxattr(int(fd), contentTypeAttr, dest) })
	}); err != nil {
		return "", false
	}
	return ct, ok
}

// pathContentType reads what setContentType recorded on the file at p.
func pathContentType(p string) (string, bool) {
	return readAttr(func(dest []byte) (int, error) { return unix.Getxattr(p, contentTypeAttr, dest) })
}

func readAttr(get func(dest []byte) (int, error)) (string, bool) {
	var buf [256]byte
	n, err := get(buf[:])
	if err == nil {
		return string(buf[:n]), n > 0
	}
	if !errors.Is(err, unix.ERANGE) {
		return "", false
	}
	// Longer than usual: ask for the size, then read.
	n, err = get(nil)
	if err != nil {
		return "", false
	}
	big := make([]byte, n)
	if n, err = get(big); err != nil {
		return "", false
	}
	return string(big[:n]), n > 0
}
