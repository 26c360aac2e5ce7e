package models

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// Errors callers branch on.
var (
	// ErrChecksum: a file's size or sha256 differs from its pin. A download
	// that fails the check is deleted.
	ErrChecksum = errors.New("checksum mismatch")
	// ErrUnavailable: a file could not be fetched (host unreachable, not
	// found, or the transfer kept failing). The error says where vindex
	// looked and what to do.
	ErrUnavailable = errors.New("model file unavailable")
)

// Store keeps model files under Dir, at <Dir>/<model name>/<file path>,
// downloading and verifying them on demand. The zero value of every field
// but Dir is usable. A Store is safe for concurrent use, and several
// processes may share one Dir.
type Store struct {
	Dir string
	// Mirror, when set, is the only place files are fetched from: a
	// directory or an http(s) base URL laid out as <mirror>/<name>/<path>.
	// Empty: each file's upstream URL.
	Mirror string
	// Client fetches over HTTP; nil: a client with connect and
	// response-header timeouts and no limit on the body's duration.
	Client *http.Client
	// Progress, when set, receives download progress: a redrawn line on a
	// terminal, a line now and then otherwise.
	Progress io.Writer
	Log      *slog.Logger

	// Tests shorten these; zero means the defaults.
	stall     time.Duration // a body that delivers nothing for this long is abandoned
	retryWait time.Duration // the first pause before retrying a fetch that made no progress
}

// State is how far along a model file is, or for a model, its files.
type State int

// The states, from nothing to ready. For a model: Verified when every file
// is, Corrupt when any file is, Missing when every file is, Unverified when
// every file is at least Unverified, and Partial otherwise.
const (
	Missing    State = iota // not downloaded
	Partial                 // a download was interrupted; it resumes
	Unverified              // present with the right size, not hashed since it last changed
	Corrupt                 // wrong size or sha256; it is replaced on the next Ensure
	Verified                // hashed and equal to its pin, unchanged since
)

func (s State) String() string {
	switch s {
	case Missing:
		return "missing"
	case Partial:
		return "partial"
	case Unverified:
		return "unverified"
	case Corrupt:
		return "corrupt"
	case Verified:
		return "verified"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// FileStatus is one file's state and how many of its bytes are on disk.
type FileStatus struct {
	File  File
	State State
	Bytes int64
}

// ModelStatus is a model's state and each of its files'.
type ModelStatus struct {
	Model Model
	State State
	Files []FileStatus
}

// Bytes is how many bytes of the model are on disk, partial downloads
// included.
func (s ModelStatus) Bytes() int64 {
	var n int64
	for _, f := range s.Files {
		n += f.Bytes
	}
	return n
}

// Files beside each model file.
const (
	partialSuffix  = ".partial"  // an interrupted download, resumed from its end
	verifiedSuffix = ".verified" // the file's size, mtime and sha256 when last hashed
	lockName       = ".lock"     // flocked by whoever downloads into the model's directory
)

// ModelDir is where m's files live.
func (s *Store) ModelDir(m Model) string { return filepath.Join(s.Dir, m.Name) }

func (s *Store) path(m Model, f File) string {
	return filepath.Join(s.ModelDir(m), filepath.FromSlash(f.Path))
}

func (s *Store) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

// Status reports the state of m's files without hashing any: a file counts
// as verified when its .verified record matches its size and mtime.
func (s *Store) Status(m Model) ModelStatus {
	st := ModelStatus{Model: m, Files: make([]FileStatus, len(m.Files))}
	counts := map[State]int{}
	for i, f := range m.Files {
		st.Files[i] = s.fileStatus(m, f)
		counts[st.Files[i].State]++
	}
	switch n := len(m.Files); {
	case counts[Corrupt] > 0:
		st.State = Corrupt
	case counts[Verified] == n:
		st.State = Verified
	case counts[Missing] == n:
		st.State = Missing
	case counts[Verified]+counts[Unverified] == n:
		st.State = Unverified
	default:
		st.State = Partial
	}
	return st
}

// Available reports whether every file of m is verified, without hashing.
func (s *Store) Available(m Model) bool { return s.Status(m).State == Verified }

func (s *Store) fileStatus(m Model, f File) FileStatus {
	p := s.path(m, f)
	info, err := os.Stat(p)
	if err != nil {
		// Anything but a regular file (an unreadable one included) is treated
		// as absent, so Ensure tries to fetch it and reports what stops it.
		if pinfo, err := os.Stat(p + partialSuffix); err == nil && pinfo.Mode().IsRegular() {
			return FileStatus{File: f, State: Partial, Bytes: pinfo.Size()}
		}
		return FileStatus{File: f, State: Missing}
	}
	st := FileStatus{File: f, Bytes: info.Size()}
	rec, ok := readRecord(p)
	switch {
	case !info.Mode().IsRegular() || info.Size() != f.Size:
		st.State = Corrupt
	case !ok || !rec.matches(info):
		st.State = Unverified
	case rec.SHA256 != f.SHA256:
		st.State = Corrupt
	default:
		st.State = Verified
	}
	return st
}

// Verify re-hashes every file of m, whatever the records say, and records
// the results. It returns every problem: missing files (wrapping
// fs.ErrNotExist) and mismatches (wrapping ErrChecksum).
func (s *Store) Verify(ctx context.Context, m Model) error {
	var errs []error
	for _, f := range m.Files {
		if err := s.verifyFile(ctx, m, f); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("verify %s: %w", m.ID(), err)
	}
	return nil
}

// verifyFile hashes a present file, records the result and compares it with
// the pin.
func (s *Store) verifyFile(ctx context.Context, m Model, f File) error {
	p := s.path(m, f)
	sum, info, err := hashFile(ctx, p)
	if err != nil {
		return fmt.Errorf("%s: %w", f.Path, err)
	}
	if info.Size() != f.Size {
		return fmt.Errorf("%s: %w: %d bytes, want %d", f.Path, ErrChecksum, info.Size(), f.Size)
	}
	if err := writeRecord(p, record{Size: info.Size(), MTime: info.ModTime().UnixNano(), SHA256: sum}); err != nil {
		return fmt.Errorf("%s: %w", f.Path, err)
	}
	if sum != f.SHA256 {
		return fmt.Errorf("%s: %w: sha256 %s, want %s", f.Path, ErrChecksum, sum, f.SHA256)
	}
	return nil
}

// Ensure returns m's directory once every file in it is present and
// verified, fetching what is missing, resuming interrupted downloads and
// replacing corrupt files. Processes (and goroutines) ensuring the same
// model take turns, so each file is downloaded once.
func (s *Store) Ensure(ctx context.Context, m Model) (string, error) {
	dir := s.ModelDir(m)
	if s.Available(m) {
		return dir, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("ensure %s: %w", m.ID(), err)
	}
	unlock, err := lock(ctx, filepath.Join(dir, lockName), func() {
		s.log().Info("waiting for another download of the model", "model", m.ID())
	})
	if err != nil {
		return "", fmt.Errorf("ensure %s: %w", m.ID(), err)
	}
	defer unlock()
	for _, f := range m.Files {
		if err := s.ensureFile(ctx, m, f); err != nil {
			return "", fmt.Errorf("ensure %s: %w", m.ID(), err)
		}
	}
	return dir, nil
}

// ensureFile makes one file verified; the caller holds the model's lock.
func (s *Store) ensureFile(ctx context.Context, m Model, f File) error {
	log := s.log().With("model", m.ID(), "file", f.Path)
	p := s.path(m, f)
	switch s.fileStatus(m, f).State {
	case Verified:
		return nil
	case Unverified:
		err := s.verifyFile(ctx, m, f)
		if err == nil || !errors.Is(err, ErrChecksum) {
			return err
		}
		log.Warn("replacing a model file that fails its checksum", "err", err)
	case Corrupt:
		log.Warn("replacing a corrupt model file")
	}
	if err := removeFile(p); err != nil {
		return err
	}
	return s.download(ctx, m, f)
}

// removeFile deletes a model file and its record, if they exist.
func removeFile(p string) error {
	for _, q := range []string{p, p + verifiedSuffix} {
		if err := os.Remove(q); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove %s: %w", filepath.Base(q), err)
		}
	}
	return nil
}

// record is what a file hashed to, at the size and mtime it had then. It
// saves re-hashing hundreds of MiB on every start; any change to the file
// changes its mtime and so invalidates the record.
type record struct {
	Size   int64  `json:"size"`
	MTime  int64  `json:"mtime_ns"`
	SHA256 string `json:"sha256"`
}

func (r record) matches(info fs.FileInfo) bool {
	return r.Size == info.Size() && r.MTime == info.ModTime().UnixNano()
}

func readRecord(p string) (record, bool) {
	b, err := os.ReadFile(p + verifiedSuffix)
	if err != nil {
		return record{}, false
	}
	var r record
	if err := json.Unmarshal(b, &r); err != nil {
		return record{}, false
	}
	return r, true
}

func writeRecord(p string, r record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode record: %w", err)
	}
	return writeFileAtomic(p+verifiedSuffix, b)
}

// writeFileAtomic replaces path with data so readers see the old or the
// new content, never a mix.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	return nil
}

// hashFile returns the sha256 of the file at p and its stat from before
// reading; a change during the read shows as a newer mtime next time.
func hashFile(ctx context.Context, p string) (string, fs.FileInfo, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return "", nil, err
	}
	h := sha256.New()
	if _, err := io.Copy(h, ctxReader{ctx: ctx, r: f}); err != nil {
		return "", nil, fmt.Errorf("hash: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), info, nil
}

// ctxReader stops a long local read when ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (r ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}
