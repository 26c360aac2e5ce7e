package models

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// deadURL refuses connections.
const deadURL = "http://127.0.0.1:1"

// content is n reproducible pseudo-random bytes.
func content(seed uint64, n int) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)})
	_, _ = r.Read(b)
	return b
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// origin is a real HTTP server holding files at /<model>/<path>: an
// upstream host or, with Store.Mirror set to its URL, a mirror. A hook may
// take over a request to misbehave; nth counts requests per path from 1.
type origin struct {
	srv *httptest.Server

	mu    sync.Mutex
	files map[string][]byte
	reqs  []served
	hook  func(w http.ResponseWriter, r *http.Request, body []byte, nth int) bool
}

type served struct{ path, rng string }

func newOrigin(t *testing.T) *origin {
	t.Helper()
	o := &origin{files: map[string][]byte{}}
	o.srv = httptest.NewServer(http.HandlerFunc(o.serve))
	t.Cleanup(o.srv.Close)
	return o
}

func (o *origin) serve(w http.ResponseWriter, r *http.Request) {
	o.mu.Lock()
	body, ok := o.files[r.URL.Path]
	o.reqs = append(o.reqs, served{path: r.URL.Path, rng: r.Header.Get("Range")})
	nth := len(o.requests(r.URL.Path))
	hook := o.hook
	o.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	if hook != nil && hook(w, r, body, nth) {
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

// requests lists the requests for path; the caller holds mu.
func (o *origin) requests(path string) []served {
	var out []served
	for _, s := range o.reqs {
		if s.path == path {
			out = append(out, s)
		}
	}
	return out
}

// Requests lists the requests for a model file.
func (o *origin) Requests(m Model, f File) []served {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.requests("/" + m.Name + "/" + f.Path)
}

func (o *origin) setHook(h func(w http.ResponseWriter, r *http.Request, body []byte, nth int) bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.hook = h
}

// bundle is a test model served by an origin, and a store for it.
type bundle struct {
	origin *origin
	model  Model
	data   map[string][]byte // by file path
	store  *Store
}

// The test model's files: a large one, split across many reads, and a
// small one in a subdirectory.
const (
	bigPath   = "onnx/model.onnx"
	smallPath = "vocab/tokens.txt"
)

func setup(t *testing.T) *bundle {
	t.Helper()
	o := newOrigin(t)
	b := &bundle{
		origin: o,
		data:   map[string][]byte{bigPath: content(1, 3<<20+12345), smallPath: content(2, 10_000)},
	}
	b.model = Model{Name: "test-model", Version: "abc1234", Kind: KindText, Description: "generated"}
	for _, p := range []string{bigPath, smallPath} {
		b.model.Files = append(b.model.Files, File{
			Path: p, URL: o.srv.URL + "/test-model/" + p, Size: int64(len(b.data[p])), SHA256: sum(b.data[p]),
		})
		o.files["/test-model/"+p] = b.data[p]
	}
	b.store = b.newStore(t.TempDir())
	return b
}

// newStore is a store over dir with test timings.
func (b *bundle) newStore(dir string) *Store {
	return &Store{Dir: dir, stall: 10 * time.Second, retryWait: time.Millisecond}
}

func (b *bundle) file(p string) File {
	for _, f := range b.model.Files {
		if f.Path == p {
			return f
		}
	}
	panic("no file " + p)
}

// requireVerified checks the model's files on disk against the data.
func (b *bundle) requireVerified(t *testing.T, dir string) {
	t.Helper()
	require.Equal(t, filepath.Join(b.store.Dir, b.model.Name), dir)
	for p, want := range b.data {
		got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
		require.NoError(t, err)
		require.True(t, bytes.Equal(want, got), "%s differs", p)
		require.NoFileExists(t, filepath.Join(dir, filepath.FromSlash(p))+partialSuffix)
	}
	st := b.store.Status(b.model)
	require.Equal(t, Verified, st.State, "%+v", st)
	require.Equal(t, b.model.Size(), st.Bytes())
	require.True(t, b.store.Available(b.model))
}

// cutAfter answers with the whole length, sends n bytes and drops the
// connection.
func cutAfter(w http.ResponseWriter, body []byte, n int) {
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body[:n])
	w.(http.Flusher).Flush()
	panic(http.ErrAbortHandler)
}

func TestEnsureDownloadsAndVerifies(t *testing.T) {
	t.Parallel()
	b := setup(t)
	require.Equal(t, Missing, b.store.Status(b.model).State)
	require.False(t, b.store.Available(b.model))

	dir, err := b.store.Ensure(context.Background(), b.model)
	require.NoError(t, err)
	b.requireVerified(t, dir)
	for _, f := range b.model.Files {
		reqs := b.origin.Requests(b.model, f)
		require.Len(t, reqs, 1)
		require.Empty(t, reqs[0].rng)
	}
}

func TestEnsureRefusesMismatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		serve func(good []byte) []byte
		// chunked hides the length, so only the bytes themselves show it.
		chunked bool
	}{
		{name: "sha256", serve: func(good []byte) []byte {
			bad := bytes.Clone(good)
			bad[len(bad)/2] ^= 1
			return bad
		}},
		{name: "longer", serve: func(good []byte) []byte { return append(bytes.Clone(good), 'x') }},
		{name: "shorter", serve: func(good []byte) []byte { return good[:len(good)-1] }},
		{name: "longer unannounced", chunked: true, serve: func(good []byte) []byte { return append(bytes.Clone(good), 'x') }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			bad := tt.serve(b.data[bigPath])
			b.origin.setHook(func(w http.ResponseWriter, r *http.Request, body []byte, _ int) bool {
				if r.URL.Path != "/test-model/"+bigPath {
					return false
				}
				if tt.chunked {
					_, _ = w.Write(bad[:1000])
					w.(http.Flusher).Flush() // headers go out without a length
					_, _ = w.Write(bad[1000:])
					return true
				}
				w.Header().Set("Content-Type", "application/octet-stream")
				http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(bad))
				return true
			})

			_, err := b.store.Ensure(context.Background(), b.model)
			require.ErrorIs(t, err, ErrChecksum)
			require.NotErrorIs(t, err, ErrUnavailable)
			p := filepath.Join(b.store.Dir, b.model.Name, bigPath)
			require.NoFileExists(t, p)
			require.NoFileExists(t, p+partialSuffix)
			require.NoFileExists(t, p+verifiedSuffix)
			require.False(t, b.store.Available(b.model))
			require.Len(t, b.origin.Requests(b.model, b.file(bigPath)), 1, "a mismatch is not retried")
		})
	}
}

func TestEnsureResumesCutTransfer(t *testing.T) {
	t.Parallel()
	b := setup(t)
	half := len(b.data[bigPath]) / 2
	b.origin.setHook(func(w http.ResponseWriter, r *http.Request, body []byte, nth int) bool {
		if nth == 1 && r.URL.Path == "/test-model/"+bigPath {
			cutAfter(w, body, half)
		}
		return false
	})

	dir, err := b.store.Ensure(context.Background(), b.model)
	require.NoError(t, err)
	b.requireVerified(t, dir)
	reqs := b.origin.Requests(b.model, b.file(bigPath))
	require.Len(t, reqs, 2)
	require.Empty(t, reqs[0].rng)
	require.Equal(t, fmt.Sprintf("bytes=%d-", half), reqs[1].rng)
}

func TestEnsureResumesStalledTransfer(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.store.stall = 200 * time.Millisecond
	half := len(b.data[bigPath]) / 2
	b.origin.setHook(func(w http.ResponseWriter, r *http.Request, body []byte, nth int) bool {
		if nth != 1 || r.URL.Path != "/test-model/"+bigPath {
			return false
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = w.Write(body[:half])
		w.(http.Flusher).Flush()
		<-r.Context().Done() // silent until the client gives up
		return true
	})

	dir, err := b.store.Ensure(context.Background(), b.model)
	require.NoError(t, err)
	b.requireVerified(t, dir)
	reqs := b.origin.Requests(b.model, b.file(bigPath))
	require.Len(t, reqs, 2)
	require.Equal(t, fmt.Sprintf("bytes=%d-", half), reqs[1].rng)
}

func TestEnsurePartialDownloads(t *testing.T) {
	t.Parallel()
	const mib = 1 << 20
	tests := []struct {
		name        string
		partial     func(good []byte) []byte
		ignoreRange bool
		wantRanges  []string // of the requests for the file, in order
	}{
		{
			name:       "resumed from a previous run",
			partial:    func(good []byte) []byte { return good[:mib] },
			wantRanges: []string{fmt.Sprintf("bytes=%d-", mib)},
		},
		{
			// The server's 200 replaces the prefix, wrong as it is here.
			name:        "server ignores Range",
			partial:     func([]byte) []byte { return bytes.Repeat([]byte{0xff}, 1000) },
			ignoreRange: true,
			wantRanges:  []string{"bytes=1000-"},
		},
		{
			name:       "larger than the file",
			partial:    func(good []byte) []byte { return append(bytes.Clone(good), make([]byte, 10)...) },
			wantRanges: []string{""},
		},
		{
			// An earlier run stopped between the last byte and the rename.
			name:    "complete",
			partial: func(good []byte) []byte { return good },
		},
		{
			// The resumed file fails the check; a fresh download passes.
			name:       "bad prefix",
			partial:    func([]byte) []byte { return make([]byte, mib) },
			wantRanges: []string{fmt.Sprintf("bytes=%d-", mib), ""},
		},
		{
			name:       "complete but bad",
			partial:    func(good []byte) []byte { return make([]byte, len(good)) },
			wantRanges: []string{""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			p := filepath.Join(b.store.Dir, b.model.Name, bigPath)
			require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
			require.NoError(t, os.WriteFile(p+partialSuffix, tt.partial(b.data[bigPath]), 0o644))
			require.Equal(t, Partial, b.store.Status(b.model).State)
			if tt.ignoreRange {
				b.origin.setHook(func(w http.ResponseWriter, _ *http.Request, body []byte, _ int) bool {
					_, _ = w.Write(body)
					return true
				})
			}

			dir, err := b.store.Ensure(context.Background(), b.model)
			require.NoError(t, err)
			b.requireVerified(t, dir)
			var ranges []string
			for _, r := range b.origin.Requests(b.model, b.file(bigPath)) {
				ranges = append(ranges, r.rng)
			}
			require.Equal(t, tt.wantRanges, ranges)
		})
	}
}

func TestEnsureFromMirror(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mirror func(t *testing.T, b *bundle) string
	}{
		{name: "directory", mirror: func(t *testing.T, b *bundle) string {
			dir := t.TempDir()
			for p, data := range b.data {
				dst := filepath.Join(dir, b.model.Name, filepath.FromSlash(p))
				require.NoError(t, os.MkdirAll(filepath.Dir(dst), 0o755))
				require.NoError(t, os.WriteFile(dst, data, 0o644))
			}
			return dir
		}},
		{name: "file URL", mirror: func(t *testing.T, b *bundle) string {
			dir := t.TempDir()
			for p, data := range b.data {
				dst := filepath.Join(dir, b.model.Name, filepath.FromSlash(p))
				require.NoError(t, os.MkdirAll(filepath.Dir(dst), 0o755))
				require.NoError(t, os.WriteFile(dst, data, 0o644))
			}
			return "file://" + dir
		}},
		{name: "base URL", mirror: func(_ *testing.T, b *bundle) string { return b.origin.srv.URL }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			mirror := tt.mirror(t, b)
			// Upstream is unreachable: everything must come from the mirror.
			for i := range b.model.Files {
				b.model.Files[i].URL = deadURL + "/" + b.model.Files[i].Path
			}
			b.store.Mirror = mirror
			// A partial download resumes from the mirror too.
			p := filepath.Join(b.store.Dir, b.model.Name, bigPath)
			require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
			require.NoError(t, os.WriteFile(p+partialSuffix, b.data[bigPath][:12345], 0o644))

			dir, err := b.store.Ensure(context.Background(), b.model)
			require.NoError(t, err)
			b.requireVerified(t, dir)
		})
	}
}

func TestEnsureSkipsVerifiedFiles(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	_, err := b.store.Ensure(ctx, b.model)
	require.NoError(t, err)
	big := b.file(bigPath)
	require.Len(t, b.origin.Requests(b.model, big), 1)

	// Another process over the same directory.
	again := b.newStore(b.store.Dir)
	dir, err := again.Ensure(ctx, b.model)
	require.NoError(t, err)
	b.requireVerified(t, dir)

	// Without its record the file is re-hashed, not downloaded.
	p := filepath.Join(dir, bigPath)
	require.NoError(t, os.Remove(p+verifiedSuffix))
	require.Equal(t, Unverified, again.Status(b.model).State)
	_, err = again.Ensure(ctx, b.model)
	require.NoError(t, err)
	b.requireVerified(t, dir)
	require.Len(t, b.origin.Requests(b.model, big), 1)
	require.Len(t, b.origin.Requests(b.model, b.file(smallPath)), 1)
}

func TestVerifyDetectsCorruption(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	dir, err := b.store.Ensure(ctx, b.model)
	require.NoError(t, err)
	require.NoError(t, b.store.Verify(ctx, b.model))

	// Flip a byte and put the mtime back: the cheap check cannot tell.
	p := filepath.Join(dir, bigPath)
	info, err := os.Stat(p)
	require.NoError(t, err)
	data, err := os.ReadFile(p)
	require.NoError(t, err)
	data[100] ^= 0x40
	require.NoError(t, os.WriteFile(p, data, 0o644))
	require.NoError(t, os.Chtimes(p, info.ModTime(), info.ModTime()))
	require.True(t, b.store.Available(b.model))

	err = b.store.Verify(ctx, b.model)
	require.ErrorIs(t, err, ErrChecksum)
	require.ErrorContains(t, err, bigPath)
	require.Equal(t, Corrupt, b.store.Status(b.model).State)
	require.False(t, b.store.Available(b.model))

	// Ensure replaces it.
	_, err = b.store.Ensure(ctx, b.model)
	require.NoError(t, err)
	b.requireVerified(t, dir)
	require.Len(t, b.origin.Requests(b.model, b.file(bigPath)), 2)
	require.NoError(t, b.store.Verify(ctx, b.model))
}

func TestVerifyMissing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	err := b.store.Verify(context.Background(), b.model)
	require.ErrorIs(t, err, fs.ErrNotExist)
	require.ErrorContains(t, err, bigPath)
	require.ErrorContains(t, err, smallPath)
}

func TestEnsureConcurrent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// Slow the transfer so that the others really find the lock taken.
	b.origin.setHook(func(http.ResponseWriter, *http.Request, []byte, int) bool {
		time.Sleep(50 * time.Millisecond)
		return false
	})
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		// A store each, as separate processes would have.
		s := b.newStore(b.store.Dir)
		wg.Go(func() { _, errs[i] = s.Ensure(context.Background(), b.model) })
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	b.requireVerified(t, filepath.Join(b.store.Dir, b.model.Name))
	for _, f := range b.model.Files {
		require.Len(t, b.origin.Requests(b.model, f), 1, f.Path)
	}
}

func TestEnsureCancel(t *testing.T) {
	t.Parallel()
	b := setup(t)
	half := len(b.data[bigPath]) / 2
	sent := make(chan struct{})
	b.origin.setHook(func(w http.ResponseWriter, r *http.Request, body []byte, nth int) bool {
		if r.URL.Path != "/test-model/"+bigPath {
			return false
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = w.Write(body[:half])
		w.(http.Flusher).Flush()
		close(sent)
		<-r.Context().Done()
		return true
	})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-sent
		time.Sleep(50 * time.Millisecond) // let the first half arrive
		cancel()
	}()

	_, err := b.store.Ensure(ctx, b.model)
	require.ErrorIs(t, err, context.Canceled)
	require.NotErrorIs(t, err, ErrUnavailable)
	st := b.store.Status(b.model)
	require.Equal(t, Partial, st.State)
	require.Equal(t, Partial, st.Files[0].State)
	require.Positive(t, st.Files[0].Bytes, "the partial download is kept for resuming")
	require.Len(t, b.origin.Requests(b.model, b.file(bigPath)), 1, "no retry after cancel")
}

func TestEnsureUnavailable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		prepare func(b *bundle) // changes the model or store so the big file cannot be found
		where   func(b *bundle) string
	}{
		{
			name: "not found",
			prepare: func(b *bundle) {
				b.origin.mu.Lock()
				delete(b.origin.files, "/test-model/"+bigPath)
				b.origin.mu.Unlock()
			},
			where: func(b *bundle) string { return b.file(bigPath).URL },
		},
		{
			name:    "host unreachable",
			prepare: func(b *bundle) { b.model.Files[0].URL = deadURL + "/x" },
			where:   func(*bundle) string { return deadURL + "/x" },
		},
		{
			name:    "empty mirror directory",
			prepare: func(b *bundle) { b.store.Mirror = b.store.Dir + "-mirror" },
			where: func(b *bundle) string {
				return filepath.Join(b.store.Dir+"-mirror", b.model.Name, filepath.FromSlash(bigPath))
			},
		},
		{
			name: "server error",
			prepare: func(b *bundle) {
				b.origin.setHook(func(w http.ResponseWriter, _ *http.Request, _ []byte, _ int) bool {
					http.Error(w, "overloaded", http.StatusServiceUnavailable)
					return true
				})
			},
			where: func(b *bundle) string { return b.file(bigPath).URL },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			tt.prepare(b)
			_, err := b.store.Ensure(context.Background(), b.model)
			require.ErrorIs(t, err, ErrUnavailable)
			require.NotErrorIs(t, err, ErrChecksum)
			require.ErrorContains(t, err, tt.where(b))
			require.ErrorContains(t, err, "vindex models pull test-model")
			require.ErrorContains(t, err, "VINDEX_MODEL_MIRROR")
			require.Equal(t, Missing, b.store.Status(b.model).State)
		})
	}
}

func TestStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		prepare func(t *testing.T, b *bundle, dir string)
		want    State
		files   []State // big, small
	}{
		{
			name:    "nothing",
			prepare: func(*testing.T, *bundle, string) {},
			want:    Missing, files: []State{Missing, Missing},
		},
		{
			name: "interrupted",
			prepare: func(t *testing.T, b *bundle, dir string) {
				require.NoError(t, os.WriteFile(filepath.Join(dir, bigPath)+partialSuffix, b.data[bigPath][:100], 0o644))
			},
			want: Partial, files: []State{Partial, Missing},
		},
		{
			name: "copied in",
			prepare: func(t *testing.T, b *bundle, dir string) {
				for p, data := range b.data {
					require.NoError(t, os.WriteFile(filepath.Join(dir, p), data, 0o644))
				}
			},
			want: Unverified, files: []State{Unverified, Unverified},
		},
		{
			name: "wrong size",
			prepare: func(t *testing.T, b *bundle, dir string) {
				require.NoError(t, os.WriteFile(filepath.Join(dir, smallPath), b.data[smallPath][1:], 0o644))
			},
			want: Corrupt, files: []State{Missing, Corrupt},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			dir := filepath.Join(b.store.Dir, b.model.Name)
			for _, p := range []string{bigPath, smallPath} {
				require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755))
			}
			tt.prepare(t, b, dir)
			st := b.store.Status(b.model)
			require.Equal(t, tt.want, st.State)
			for i, want := range tt.files {
				require.Equal(t, want, st.Files[i].State, st.Files[i].File.Path)
			}
		})
	}
}

func BenchmarkEnsure(b *testing.B) {
	data := content(3, 64<<20)
	m := Model{Name: "bench", Version: "1", Kind: KindText}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
	}))
	b.Cleanup(srv.Close)
	m.Files = []File{{Path: "model.onnx", URL: srv.URL + "/model.onnx", Size: int64(len(data)), SHA256: sum(data)}}
	var (
		n    int
		took time.Duration
	)
	for b.Loop() {
		s := &Store{Dir: b.TempDir()}
		start := time.Now()
		if _, err := s.Ensure(context.Background(), m); err != nil {
			b.Fatal(err)
		}
		took += time.Since(start)
		n++
	}
	b.ReportMetric(float64(len(data))*float64(n)/1e6/took.Seconds(), "MB/s")
}
