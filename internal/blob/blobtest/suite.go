// Package blobtest is the conformance suite every blob.Store must pass, and
// the test fixtures it needs: a generated-data reader and a versitygw S3
// gateway to run the S3 store against.
package blobtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/vindex/vindex/internal/blob"
)

// Fixture is one new, empty store for one test.
type Fixture struct {
	Store blob.Store
	// Leftovers lists what failed Puts left behind in Store: temp files,
	// unfinished multipart uploads. It must come back empty.
	Leftovers func(t *testing.T) []string
}

// Run runs the conformance suite. newFixture is called once per subtest,
// and subtests run in parallel.
func Run(t *testing.T, newFixture func(t *testing.T) Fixture) {
	t.Helper()
	tests := []struct {
		name string
		test func(t *testing.T, f Fixture)
	}{
		{"PutOpenRoundTrip", testPutOpenRoundTrip},
		{"EmptyObject", testEmptyObject},
		{"ContentType", testContentType},
		{"SeekReadsRange", testSeekReadsRange},
		{"PutStreamsWithoutBuffering", testPutStreamsWithoutBuffering},
		{"OverwriteIsAtomic", testOverwriteIsAtomic},
		{"PutInProgressIsInvisible", testPutInProgressIsInvisible},
		{"FailedPutLeavesNothing", testFailedPutLeavesNothing},
		{"NotFound", testNotFound},
		{"DeleteIsIdempotent", testDeleteIsIdempotent},
		{"DeletePrefixScope", testDeletePrefixScope},
		{"ListSorted", testListSorted},
		{"BadKeysRejected", testBadKeysRejected},
		{"OpenContextBoundsReads", testOpenContextBoundsReads},
		{"Fetch", testFetch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.name == "PutStreamsWithoutBuffering" {
				exclusive(t)
			} else {
				shared(t)
			}
			tt.test(t, newFixture(t))
		})
	}
}

// heapLock keeps other tests' allocations out of the streaming test's heap
// measurement, across every store the process tests.
var heapLock sync.RWMutex

// Shared keeps t from running during the suite's heap measurement, which
// sees the whole process. Tests outside Run that store data, in a package
// that calls Run, should call it after t.Parallel.
func Shared(t *testing.T) { shared(t) }

func shared(t *testing.T) {
	heapLock.RLock()
	t.Cleanup(heapLock.RUnlock)
}

func exclusive(t *testing.T) {
	heapLock.Lock()
	t.Cleanup(heapLock.Unlock)
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func put(t *testing.T, s blob.Store, key string, data []byte) {
	t.Helper()
	n, err := s.Put(ctxFor(t), key, bytes.NewReader(data), "")
	require.NoError(t, err)
	require.Equal(t, int64(len(data)), n)
}

func readAll(t *testing.T, s blob.Store, key string) []byte {
	t.Helper()
	obj, err := s.Open(ctxFor(t), key)
	require.NoError(t, err)
	defer obj.Close()
	b, err := io.ReadAll(obj)
	require.NoError(t, err)
	return b
}

func keys(infos []blob.Info) []string {
	ks := make([]string, len(infos))
	for i, in := range infos {
		ks[i] = in.Key
	}
	return ks
}

func requireNoLeftovers(t *testing.T, f Fixture) {
	t.Helper()
	if f.Leftovers != nil {
		require.Empty(t, f.Leftovers(t), "a failed Put left something behind")
	}
}

func testPutOpenRoundTrip(t *testing.T, f Fixture) {
	ctx := ctxFor(t)
	const key = "wsp_x/vid_y/source"
	data := PatternBytes(1, 0, 300<<10)
	before := time.Now().Add(-2 * time.Second) // S3 keeps whole seconds
	n, err := f.Store.Put(ctx, key, bytes.NewReader(data), "video/mp4")
	require.NoError(t, err)
	require.Equal(t, int64(len(data)), n)

	obj, err := f.Store.Open(ctx, key)
	require.NoError(t, err)
	info := obj.Info()
	got, err := io.ReadAll(obj)
	require.NoError(t, err)
	require.NoError(t, obj.Close())
	require.Equal(t, data, got)
	require.Equal(t, key, info.Key)
	require.Equal(t, int64(len(data)), info.Size)
	require.Equal(t, "video/mp4", info.ContentType)
	require.WithinRange(t, info.ModTime, before, time.Now().Add(2*time.Second))

	st, err := f.Store.Stat(ctx, key)
	require.NoError(t, err)
	require.True(t, st.ModTime.Equal(info.ModTime), "Stat %v, Open %v", st.ModTime, info.ModTime)
	st.ModTime = info.ModTime
	require.Equal(t, info, st)

	// Overwrite replaces data and type.
	put(t, f.Store, key, []byte("second"))
	require.Equal(t, []byte("second"), readAll(t, f.Store, key))
	st, err = f.Store.Stat(ctx, key)
	require.NoError(t, err)
	require.Equal(t, int64(6), st.Size)
	require.Equal(t, "application/octet-stream", st.ContentType)
}

func testEmptyObject(t *testing.T, f Fixture) {
	put(t, f.Store, "empty", nil)
	require.Empty(t, readAll(t, f.Store, "empty"))
	st, err := f.Store.Stat(ctxFor(t), "empty")
	require.NoError(t, err)
	require.Zero(t, st.Size)
}

func testContentType(t *testing.T, f Fixture) {
	ctx := ctxFor(t)
	for _, tt := range []struct{ key, given, want string }{
		{"k/00001.jpg", "", "image/jpeg"},
		{"k/AUDIO.WAV", "", "audio/wav"},
		{"k/thumb.webp", "", "image/webp"},
		{"k/blob.unknown", "", "application/octet-stream"},
		{"k/noext", "", "application/octet-stream"},
		{"k/source", "video/quicktime", "video/quicktime"},
		{"k/x.jpg", "image/png", "image/png"}, // the caller knows best
	} {
		_, err := f.Store.Put(ctx, tt.key, strings.NewReader("x"), tt.given)
		require.NoError(t, err)
		st, err := f.Store.Stat(ctx, tt.key)
		require.NoError(t, err)
		require.Equal(t, tt.want, st.ContentType, tt.key)
		obj, err := f.Store.Open(ctx, tt.key)
		require.NoError(t, err)
		require.Equal(t, tt.want, obj.Info().ContentType, tt.key)
		require.NoError(t, obj.Close())
	}
}

func testSeekReadsRange(t *testing.T, f Fixture) {
	ctx := ctxFor(t)
	const (
		seed = 7
		size = 20 << 20
		key  = "range/video.mp4"
	)
	n, err := f.Store.Put(ctx, key, NewPattern(seed, size), "")
	require.NoError(t, err)
	require.Equal(t, int64(size), n)

	obj, err := f.Store.Open(ctx, key)
	require.NoError(t, err)
	defer obj.Close()
	require.Equal(t, int64(size), obj.Info().Size)

	readAt := func(whence int, offset int64, n int, wantPos int64) {
		t.Helper()
		pos, err := obj.Seek(offset, whence)
		require.NoError(t, err)
		require.Equal(t, wantPos, pos)
		buf := make([]byte, n)
		_, err = io.ReadFull(obj, buf)
		require.NoError(t, err)
		require.Equal(t, PatternBytes(seed, wantPos, int64(n)), buf, "at %d", wantPos)
	}
	mid := int64(7<<20 + 12345)
	readAt(io.SeekStart, mid, 1<<20, mid)
	readAt(io.SeekCurrent, 100, 4096, mid+1<<20+100) // forward from where the last read stopped
	readAt(io.SeekStart, 3, 10, 3)                   // backwards
	readAt(io.SeekEnd, -5000, 5000, size-5000)       // the tail
	readAt(io.SeekCurrent, -(size - 1), 1, 1)        // relative to the end of the tail
	readAt(io.SeekStart, size/2-1, 2, size/2-1)      // straddling nothing in particular
	readAt(io.SeekStart, 16<<20-10, 20, 16<<20-10)   // straddling a 16 MiB part boundary
	readAt(io.SeekStart, 0, 64, 0)                   // and back to the start
	readAt(io.SeekStart, size-1, 1, size-1)          // the last byte
	pos, err := obj.Seek(size+10, io.SeekStart)      // past the end: allowed, reads EOF
	require.NoError(t, err)
	require.Equal(t, int64(size+10), pos)
	k, err := obj.Read(make([]byte, 10))
	require.Zero(t, k)
	require.ErrorIs(t, err, io.EOF)
	_, err = obj.Seek(-1, io.SeekStart)
	require.Error(t, err)

	// What the media handler does: http.ServeContent answering a Range.
	obj2, err := f.Store.Open(ctx, key)
	require.NoError(t, err)
	defer obj2.Close()
	start, end := mid, mid+(3<<20)
	req := httptest.NewRequest(http.MethodGet, "/media", nil)
	req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", start, end))
	rec := httptest.NewRecorder()
	http.ServeContent(rec, req, "", obj2.Info().ModTime, obj2)
	require.Equal(t, http.StatusPartialContent, rec.Code)
	require.Equal(t, fmt.Sprintf("bytes %d-%d/%d", start, end, size), rec.Header().Get("Content-Range"))
	require.Equal(t, PatternBytes(seed, start, end-start+1), rec.Body.Bytes())
}

func testPutStreamsWithoutBuffering(t *testing.T, f Fixture) {
	ctx := ctxFor(t)
	const (
		seed = 64
		size = 64 << 20
		key  = "big/upload.mp4"
	)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base, baseAlloc := ms.HeapInuse, ms.TotalAlloc
	probe := &memProbe{r: NewPattern(seed, size), every: 256 << 10}
	start := time.Now()
	n, err := f.Store.Put(ctx, key, probe, "")
	elapsed := time.Since(start)
	require.NoError(t, err)
	require.Equal(t, int64(size), n)
	runtime.ReadMemStats(&ms)
	probe.peak = max(probe.peak, ms.HeapInuse)
	growth := int64(probe.peak) - int64(base)
	allocated := ms.TotalAlloc - baseAlloc
	t.Logf("Put of %d MiB in %v: HeapInuse baseline %.1f MiB, peak %.1f MiB (+%.1f MiB) over %d samples; %.1f MiB allocated in all",
		size>>20, elapsed.Round(time.Millisecond), mib(base), mib(probe.peak), float64(growth)/(1<<20), probe.samples, mib(allocated))
	// Both bounds hold whatever the GC does: the heap cannot grow by more
	// than was allocated, and allocating half the object means buffering it.
	require.Less(t, growth, int64(size/2), "Put seems to buffer the object")
	require.Less(t, allocated, uint64(size/2), "Put seems to copy the object through memory")

	// And it arrived whole.
	obj, err := f.Store.Open(ctx, key)
	require.NoError(t, err)
	defer obj.Close()
	got := sha256.New()
	_, err = io.Copy(got, obj)
	require.NoError(t, err)
	want := sha256.New()
	_, err = io.Copy(want, NewPattern(seed, size))
	require.NoError(t, err)
	require.Equal(t, want.Sum(nil), got.Sum(nil))
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

// memProbe samples the heap as the store reads through it.
type memProbe struct {
	r         io.Reader
	every     int64
	read      int64
	peak      uint64
	samples   int
	nextProbe int64
}

func (p *memProbe) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.read += int64(n)
	if p.read >= p.nextProbe {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		p.peak = max(p.peak, ms.HeapInuse)
		p.samples++
		p.nextProbe = p.read + p.every
	}
	return n, err
}

func testOverwriteIsAtomic(t *testing.T, f Fixture) {
	ctx := ctxFor(t)
	const (
		key      = "atomic/source"
		size     = 3 << 20 // over S3's single-PUT limit: a multipart upload
		versions = 5
	)
	sums := map[[sha256.Size]byte]uint64{}
	for seed := uint64(1); seed <= versions; seed++ {
		h := sha256.New()
		_, err := io.Copy(h, NewPattern(seed, size))
		require.NoError(t, err)
		sums[[sha256.Size]byte(h.Sum(nil))] = seed
	}
	_, err := f.Store.Put(ctx, key, NewPattern(1, size), "")
	require.NoError(t, err)

	done := make(chan struct{})
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer close(done)
		for seed := uint64(2); seed <= versions; seed++ {
			if _, err := f.Store.Put(gctx, key, NewPattern(seed, size), ""); err != nil {
				return err
			}
		}
		return nil
	})
	var mu sync.Mutex
	seen := map[uint64]int{}
	for range 3 {
		g.Go(func() error {
			for {
				obj, err := f.Store.Open(gctx, key)
				if err != nil {
					return err
				}
				h := sha256.New()
				n, err := io.Copy(h, obj)
				_ = obj.Close()
				if err != nil {
					return err
				}
				if obj.Info().Size != size || n != size {
					return fmt.Errorf("read %d bytes, Info says %d; want %d", n, obj.Info().Size, size)
				}
				seed, ok := sums[[sha256.Size]byte(h.Sum(nil))]
				if !ok {
					return errors.New("read a mix of versions")
				}
				mu.Lock()
				seen[seed]++
				mu.Unlock()
				select {
				case <-done:
					return nil
				default:
				}
			}
		})
	}
	require.NoError(t, g.Wait())
	t.Logf("whole versions read: %v", seen)
	require.Equal(t, PatternBytes(versions, 0, size), readAll(t, f.Store, key))
}

func testPutInProgressIsInvisible(t *testing.T, f Fixture) {
	ctx := ctxFor(t)
	const key = "progress/source"
	put(t, f.Store, key, []byte("old"))
	const size = 3 << 20
	data := PatternBytes(3, 0, size)

	pr, pw := io.Pipe()
	res := make(chan error, 1)
	go func() {
		_, err := f.Store.Put(ctx, key, pr, "")
		res <- err
	}()
	putErr := sync.OnceValue(func() error { return <-res })
	t.Cleanup(func() {
		// If the test failed halfway, unblock the Put and wait for it.
		_ = pw.CloseWithError(errors.New("test ended"))
		_ = putErr()
	})
	// Write returns once Put has consumed it all.
	_, err := pw.Write(data[:2<<20])
	require.NoError(t, err)

	require.Equal(t, []byte("old"), readAll(t, f.Store, key))
	st, err := f.Store.Stat(ctx, key)
	require.NoError(t, err)
	require.Equal(t, int64(3), st.Size)
	list, err := f.Store.List(ctx, "progress/")
	require.NoError(t, err)
	require.Equal(t, []string{key}, keys(list))

	_, err = pw.Write(data[2<<20:])
	require.NoError(t, err)
	require.NoError(t, pw.Close())
	require.NoError(t, putErr())
	require.Equal(t, data, readAll(t, f.Store, key))
}

var errBoom = errors.New("upload connection reset")

type failingReader struct{ err error }

func (r failingReader) Read([]byte) (int, error) { return 0, r.err }

// cancelAfter cancels its context once n bytes have been read, then keeps
// supplying data: the store must notice the context on its own.
type cancelAfter struct {
	r      io.Reader
	n      int64
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if c.n -= int64(n); c.n <= 0 {
		c.cancel()
	}
	return n, err
}

func testFailedPutLeavesNothing(t *testing.T, f Fixture) {
	// 18 MiB: past S3's first 16 MiB part, so a part is uploaded before
	// the failure and the abort has something to clean up.
	const size, failAt = 20 << 20, 18 << 20
	for _, tt := range []struct {
		name    string
		attempt func(ctx context.Context, key string) error
		want    error
	}{
		{"ReaderFails", func(ctx context.Context, key string) error {
			r := io.MultiReader(NewPattern(5, failAt), failingReader{errBoom})
			_, err := f.Store.Put(ctx, key, r, "")
			return err
		}, errBoom},
		{"ReaderFailsAtOnce", func(ctx context.Context, key string) error {
			_, err := f.Store.Put(ctx, key, failingReader{errBoom}, "")
			return err
		}, errBoom},
		{"CancelledMidway", func(ctx context.Context, key string) error {
			ctx, cancel := context.WithCancel(ctx)
			defer cancel()
			_, err := f.Store.Put(ctx, key, &cancelAfter{r: NewPattern(5, size), n: failAt, cancel: cancel}, "")
			return err
		}, context.Canceled},
		{"CancelledBefore", func(ctx context.Context, key string) error {
			ctx, cancel := context.WithCancel(ctx)
			cancel()
			_, err := f.Store.Put(ctx, key, NewPattern(5, size), "")
			return err
		}, context.Canceled},
	} {
		ctx := ctxFor(t)
		fresh := "failed/" + tt.name + "/new"
		err := tt.attempt(ctx, fresh)
		require.ErrorIs(t, err, tt.want, tt.name)
		_, err = f.Store.Stat(ctx, fresh)
		require.ErrorIs(t, err, blob.ErrNotFound, tt.name)
		list, err := f.Store.List(ctx, "failed/"+tt.name+"/")
		require.NoError(t, err)
		require.Empty(t, list, tt.name)

		existing := "failed/" + tt.name + "/existing"
		put(t, f.Store, existing, []byte("keep me"))
		require.ErrorIs(t, tt.attempt(ctx, existing), tt.want, tt.name)
		require.Equal(t, []byte("keep me"), readAll(t, f.Store, existing), tt.name)
	}
	requireNoLeftovers(t, f)
}

func testNotFound(t *testing.T, f Fixture) {
	ctx := ctxFor(t)
	_, err := f.Store.Stat(ctx, "missing")
	require.ErrorIs(t, err, blob.ErrNotFound)
	_, err = f.Store.Open(ctx, "missing/deeper.jpg")
	require.ErrorIs(t, err, blob.ErrNotFound)

	// A prefix of other keys is not itself an object.
	put(t, f.Store, "dir/file", []byte("x"))
	_, err = f.Store.Stat(ctx, "dir")
	require.ErrorIs(t, err, blob.ErrNotFound)
	_, err = f.Store.Open(ctx, "dir")
	require.ErrorIs(t, err, blob.ErrNotFound)
	// Nor is a path "through" an object.
	_, err = f.Store.Stat(ctx, "dir/file/below")
	require.ErrorIs(t, err, blob.ErrNotFound)
}

func testDeleteIsIdempotent(t *testing.T, f Fixture) {
	ctx := ctxFor(t)
	require.NoError(t, f.Store.Delete(ctx, "never/was"))
	put(t, f.Store, "gone/soon", []byte("x"))
	put(t, f.Store, "gone/stays", []byte("y"))
	require.NoError(t, f.Store.Delete(ctx, "gone/soon"))
	_, err := f.Store.Stat(ctx, "gone/soon")
	require.ErrorIs(t, err, blob.ErrNotFound)
	require.NoError(t, f.Store.Delete(ctx, "gone/soon"))
	require.NoError(t, f.Store.Delete(ctx, "gone")) // a prefix, not an object: nothing to do
	require.Equal(t, []byte("y"), readAll(t, f.Store, "gone/stays"))
}

func testDeletePrefixScope(t *testing.T, f Fixture) {
	ctx := ctxFor(t)
	all := []string{
		"wsp_x/vid_y/source", "wsp_x/vid_y/keyframes/00001.jpg", "wsp_x/vid_y/keyframes/00002.jpg",
		"wsp_x/vid_y2/source", "wsp_x/vid_z/source", "wsp_x/other.txt", "wsp_w/vid_y/source",
	}
	for _, k := range all {
		put(t, f.Store, k, []byte(k))
	}
	list := func() []string {
		t.Helper()
		infos, err := f.Store.List(ctx, "")
		require.NoError(t, err)
		return keys(infos)
	}

	require.NoError(t, f.Store.DeletePrefix(ctx, "wsp_x/vid_y/keyframes/"))
	require.Equal(t, []string{"wsp_w/vid_y/source", "wsp_x/other.txt", "wsp_x/vid_y/source", "wsp_x/vid_y2/source", "wsp_x/vid_z/source"}, list())

	require.NoError(t, f.Store.DeletePrefix(ctx, "wsp_x/vid_y/"))
	require.Equal(t, []string{"wsp_w/vid_y/source", "wsp_x/other.txt", "wsp_x/vid_y2/source", "wsp_x/vid_z/source"}, list())

	// A prefix is a string prefix, not a directory: "vid_" takes vid_y2 and vid_z.
	require.NoError(t, f.Store.DeletePrefix(ctx, "wsp_x/vid_"))
	require.Equal(t, []string{"wsp_w/vid_y/source", "wsp_x/other.txt"}, list())

	require.NoError(t, f.Store.DeletePrefix(ctx, "nothing/here/"))
	require.NoError(t, f.Store.DeletePrefix(ctx, "wsp_x/other.txt/")) // an object is not a directory
	require.ErrorIs(t, f.Store.DeletePrefix(ctx, ""), blob.ErrInvalidKey)
	require.Equal(t, []string{"wsp_w/vid_y/source", "wsp_x/other.txt"}, list())

	// The deleted prefix can be written again.
	put(t, f.Store, "wsp_x/vid_y/source", []byte("again"))
	require.Equal(t, []byte("again"), readAll(t, f.Store, "wsp_x/vid_y/source"))
}

func testListSorted(t *testing.T, f Fixture) {
	ctx := ctxFor(t)
	sorted := []string{"A/z", "a-c/x", "a.b", "a/b", "a/b2/c", "a_b/c", "ab", "b"}
	shuffled := append([]string(nil), sorted...)
	rand.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	for _, k := range shuffled {
		put(t, f.Store, k, []byte(k+k)) // a size that differs per key
	}
	infos, err := f.Store.List(ctx, "")
	require.NoError(t, err)
	require.Equal(t, sorted, keys(infos))
	for _, in := range infos {
		require.Equal(t, int64(2*len(in.Key)), in.Size, in.Key)
		require.Empty(t, in.ContentType, "List leaves ContentType empty")
		require.WithinDuration(t, time.Now(), in.ModTime, time.Minute)
	}

	for prefix, want := range map[string][]string{
		"a/":  {"a/b", "a/b2/c"},
		"a/b": {"a/b", "a/b2/c"},
		"a":   {"a-c/x", "a.b", "a/b", "a/b2/c", "a_b/c", "ab"},
		"A":   {"A/z"},
		"a_":  {"a_b/c"},
		"zz":  {},
		"b/":  {}, // "b" is an object, not a directory
	} {
		infos, err := f.Store.List(ctx, prefix)
		require.NoError(t, err)
		require.Equal(t, want, keys(infos), "List(%q)", prefix)
	}
}

func testBadKeysRejected(t *testing.T, f Fixture) {
	ctx := ctxFor(t)
	bad := []string{
		"", "/abs", "../x", "x/..", "a//b", "a/./b", "a/../b", "a/", ".", "..",
		".tmp/x", "a/.hidden", "a b", `a\b`, "a\x00b", "ü", "a:b", "a?b", "a%2Fb", "a\nb",
		strings.Repeat("a", 513),
		strings.Repeat("a", 256) + "/b", // a segment longer than a file name can be
	}
	dst := filepath.Join(t.TempDir(), "fetched")
	for _, key := range bad {
		_, err := f.Store.Put(ctx, key, strings.NewReader("x"), "")
		require.ErrorIs(t, err, blob.ErrInvalidKey, "Put(%q)", key)
		_, err = f.Store.Open(ctx, key)
		require.ErrorIs(t, err, blob.ErrInvalidKey, "Open(%q)", key)
		_, err = f.Store.Stat(ctx, key)
		require.ErrorIs(t, err, blob.ErrInvalidKey, "Stat(%q)", key)
		require.ErrorIs(t, f.Store.Delete(ctx, key), blob.ErrInvalidKey, "Delete(%q)", key)
		require.ErrorIs(t, blob.Fetch(ctx, f.Store, key, dst), blob.ErrInvalidKey, "Fetch(%q)", key)
	}
	for _, prefix := range []string{"/", "/a", "../", "a//", "a/../", ".tmp/", "a b/"} {
		_, err := f.Store.List(ctx, prefix)
		require.ErrorIs(t, err, blob.ErrInvalidKey, "List(%q)", prefix)
		require.ErrorIs(t, f.Store.DeletePrefix(ctx, prefix), blob.ErrInvalidKey, "DeletePrefix(%q)", prefix)
	}
	infos, err := f.Store.List(ctx, "")
	require.NoError(t, err)
	require.Empty(t, infos)
	requireNoLeftovers(t, f)
	require.NoFileExists(t, dst)

	// The longest key allowed works.
	longest := strings.Repeat("a", 255) + "/" + strings.Repeat("b", 254) + "/c"
	require.Len(t, longest, 512)
	put(t, f.Store, longest, []byte("x"))
	require.Equal(t, []byte("x"), readAll(t, f.Store, longest))
}

// A handler that streams an object stops when its request is cancelled.
func testOpenContextBoundsReads(t *testing.T, f Fixture) {
	const size = 4 << 20
	put(t, f.Store, "ctx/k", PatternBytes(1, 0, size))
	ctx, cancel := context.WithCancel(ctxFor(t))
	obj, err := f.Store.Open(ctx, "ctx/k")
	require.NoError(t, err)
	defer obj.Close()
	buf := make([]byte, 1024)
	_, err = io.ReadFull(obj, buf)
	require.NoError(t, err)
	cancel()
	n, err := io.Copy(io.Discard, obj)
	require.ErrorIs(t, err, context.Canceled)
	require.Less(t, n, int64(size))
}

func testFetch(t *testing.T, f Fixture) {
	ctx := ctxFor(t)
	const key = "fetch/source"
	data := PatternBytes(9, 0, 5<<20)
	put(t, f.Store, key, data)
	dir := t.TempDir()
	dst := filepath.Join(dir, "source")

	require.NoError(t, blob.Fetch(ctx, f.Store, key, dst))
	got, err := os.ReadFile(dst)
	require.NoError(t, err)
	require.Equal(t, data, got)

	// A later Put does not reach the fetched copy.
	put(t, f.Store, key, []byte("new"))
	got, err = os.ReadFile(dst)
	require.NoError(t, err)
	require.Equal(t, data, got)

	// Fetch replaces an existing file, and again when it is already current.
	require.NoError(t, blob.Fetch(ctx, f.Store, key, dst))
	require.NoError(t, blob.Fetch(ctx, f.Store, key, dst))
	got, err = os.ReadFile(dst)
	require.NoError(t, err)
	require.Equal(t, []byte("new"), got)

	// A missing key leaves dst alone.
	require.ErrorIs(t, blob.Fetch(ctx, f.Store, "fetch/missing", dst), blob.ErrNotFound)
	got, err = os.ReadFile(dst)
	require.NoError(t, err)
	require.Equal(t, []byte("new"), got)
	require.ErrorIs(t, blob.Fetch(ctx, f.Store, "fetch/missing", filepath.Join(dir, "other")), blob.ErrNotFound)
	require.NoFileExists(t, filepath.Join(dir, "other"))

	// Nothing but the fetched file is left in the directory.
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1)
}
