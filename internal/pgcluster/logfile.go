package pgcluster

import (
	"bytes"
	"fmt"
	"io"
	"os"
)

// maxLogSize bounds postgres.log; it is rotated only at Start, which keeps the server's
// stderr a plain file descriptor (no copying goroutine) for the life of the server.
const maxLogSize = 16 << 20

// openLog opens the log for appending and returns the offset where this run's output
// begins, so that error messages quote only what this Start produced.
func openLog(path string, a account) (*os.File, int64, error) {
	if fi, err := os.Stat(path); err == nil && fi.Size() > maxLogSize {
		_ = os.Rename(path, path+".1")
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, 0, fmt.Errorf("open postgres log: %w", err)
	}
	if err := a.chown(path); err != nil {
		_ = f.Close()
		return nil, 0, err
	}
	off, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		_ = f.Close()
		return nil, 0, fmt.Errorf("seek postgres log: %w", err)
	}
	return f, off, nil
}

// logTail returns the last lines written to the log since offset from, formatted to be
// appended to an error message, or "" when nothing was written.
func logTail(path string, from int64) string {
	const maxBytes, maxLines = 4096, 25
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer func() { _ = f.Close() }()
	fi, err := f.Stat()
	if err != nil {
		return ""
	}
	start := max(from, fi.Size()-maxBytes)
	buf := make([]byte, fi.Size()-start)
	if n, _ := f.ReadAt(buf, start); n < len(buf) {
		buf = buf[:n]
	}
	lines := bytes.Split(bytes.TrimRight(buf, "\n"), []byte("\n"))
	if start > from && len(lines) > 1 {
		lines = lines[1:] // the first line was cut in the middle
	}
	if len(lines) > maxLines {
		lines = lines[len(lines)-maxLines:]
	}
	if len(bytes.TrimSpace(buf)) == 0 {
		return ""
	}
	return fmt.Sprintf("\n--- last lines of %s ---\n%s", path, bytes.Join(lines, []byte("\n")))
}
