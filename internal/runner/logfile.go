package runner

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sync"
)

// logFile is a child's stdout and stderr. The child (and the agents it starts, which inherit
// the descriptor) write to it directly with O_APPEND, so no goroutine of ours sits in the path
// and output keeps flowing even while vindex is gone. The size is capped by copy-and-truncate
// (rotate): start-all logs every API request at INFO, which polling turns into megabytes an
// hour. O_APPEND writers continue at the new end after a truncate; a few lines written between
// the copy and the truncate are lost, which is acceptable for a diagnostics log.
type logFile struct {
	path string
	max  int64

	mu sync.Mutex
	f  *os.File
}

// defaultMaxLog caps each child's log; one previous generation is kept as <path>.1.
const defaultMaxLog = 10 << 20

func openLogFile(path string, max int64) (*logFile, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	l := &logFile{path: path, max: max, f: f}
	l.rotate()
	return l, nil
}

// offset returns the current end of the log, where the next child's output will begin.
func (l *logFile) offset() int64 {
	fi, err := os.Stat(l.path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// rotate copies the log to <path>.1 and truncates it once it exceeds max.
func (l *logFile) rotate() {
	l.mu.Lock()
	defer l.mu.Unlock()
	fi, err := l.f.Stat()
	if err != nil || fi.Size() <= l.max {
		return
	}
	src, err := os.Open(l.path)
	if err != nil {
		return
	}
	defer func() { _ = src.Close() }()
	dst, err := os.OpenFile(l.path+".1", os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return
	}
	_, cerr := io.Copy(dst, src)
	if err := dst.Close(); err != nil || cerr != nil {
		return
	}
	_ = l.f.Truncate(0)
}

// contains reports whether the output written since offset from (at most its last 64 KiB)
// contains needle.
func (l *logFile) contains(from int64, needle string) bool {
	found, _ := l.containsAny(from, []string{needle})
	return found != ""
}

// containsAny returns the first of needles found in the output written since offset from (at
// most its last 64 KiB), or "", and the offset it read up to.
func (l *logFile) containsAny(from int64, needles []string) (string, int64) {
	f, err := os.Open(l.path)
	if err != nil {
		return "", from
	}
	defer func() { _ = f.Close() }()
	fi, err := f.Stat()
	if err != nil {
		return "", from
	}
	if from > fi.Size() {
		from = 0
	}
	start := max(from, fi.Size()-64<<10)
	buf := make([]byte, fi.Size()-start)
	n, _ := f.ReadAt(buf, start)
	for _, needle := range needles {
		if bytes.Contains(buf[:n], []byte(needle)) {
			return needle, start + int64(n)
		}
	}
	return "", start + int64(n)
}

func (l *logFile) close() {
	_ = l.f.Close()
}

// tail returns the last lines written since offset from, formatted to be appended to an
// error message, or "" when nothing was written.
func (l *logFile) tail(from int64) string {
	const maxBytes, maxLines = 4096, 20
	f, err := os.Open(l.path)
	if err != nil {
		return ""
	}
	defer func() { _ = f.Close() }()
	fi, err := f.Stat()
	if err != nil {
		return ""
	}
	if from > fi.Size() { // truncated by rotate since
		from = 0
	}
	start := max(from, fi.Size()-maxBytes)
	buf := make([]byte, fi.Size()-start)
	if n, _ := f.ReadAt(buf, start); n < len(buf) {
		buf = buf[:n]
	}
	if len(bytes.TrimSpace(buf)) == 0 {
		return ""
	}
	lines := bytes.Split(bytes.TrimRight(buf, "\n"), []byte("\n"))
	if start > from && len(lines) > 1 {
		lines = lines[1:] // the first line was cut in the middle
	}
	if len(lines) > maxLines {
		lines = lines[len(lines)-maxLines:]
	}
	return fmt.Sprintf("\n--- last lines of %s ---\n%s", l.path, bytes.Join(lines, []byte("\n")))
}
