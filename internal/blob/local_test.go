package blob_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vindex/vindex/internal/blob"
	"github.com/vindex/vindex/internal/blob/blobtest"
)

func TestLocal(t *testing.T) {
	t.Parallel()
	blobtest.Run(t, func(t *testing.T) blobtest.Fixture {
		l := newLocal(t)
		return blobtest.Fixture{Store: l, Leftovers: func(t *testing.T) []string { return tmpFiles(t, l) }}
	})
}

func newLocal(t *testing.T) *blob.Local {
	t.Helper()
	l, err := blob.NewLocal(filepath.Join(t.TempDir(), "blobs"))
	require.NoError(t, err)
	return l
}

func tmpFiles(t *testing.T, l *blob.Local) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(l.Dir(), ".tmp"))
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// tree lists everything under the store's directory, directories with a
// trailing slash.
func tree(t *testing.T, l *blob.Local) []string {
	t.Helper()
	var paths []string
	err := filepath.WalkDir(l.Dir(), func(p string, d os.DirEntry, err error) error {
		require.NoError(t, err)
		rel, err := filepath.Rel(l.Dir(), p)
		require.NoError(t, err)
		if rel == "." {
			return nil
		}
		if d.IsDir() {
			rel += "/"
		}
		paths = append(paths, filepath.ToSlash(rel))
		return nil
	})
	require.NoError(t, err)
	return paths
}

func TestLocalPath(t *testing.T) {
	t.Parallel()
	blobtest.Shared(t)
	ctx := context.Background()
	l := newLocal(t)
	_, err := l.Put(ctx, "wsp_x/vid_y/source", strings.NewReader("video"), "video/mp4")
	require.NoError(t, err)

	p, err := l.Path("wsp_x/vid_y/source")
	require.NoError(t, err)
	require.Equal(t, filepath.Join(l.Dir(), "wsp_x", "vid_y", "source"), p)
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	require.Equal(t, "video", string(b))

	_, err = l.Path("wsp_x/vid_y/missing")
	require.ErrorIs(t, err, blob.ErrNotFound)
	_, err = l.Path("wsp_x/vid_y") // a directory, not an object
	require.ErrorIs(t, err, blob.ErrNotFound)
	_, err = l.Path("../../etc/passwd")
	require.ErrorIs(t, err, blob.ErrInvalidKey)
}

func TestLocalPrunesEmptyDirectories(t *testing.T) {
	t.Parallel()
	blobtest.Shared(t)
	ctx := context.Background()
	l := newLocal(t)
	for _, k := range []string{"w/v1/source", "w/v1/keyframes/00001.jpg", "w/v2/source"} {
		_, err := l.Put(ctx, k, strings.NewReader(k), "")
		require.NoError(t, err)
	}
	require.NoError(t, l.DeletePrefix(ctx, "w/v1/keyframes/"))
	require.Equal(t, []string{".tmp/", "w/", "w/v1/", "w/v1/source", "w/v2/", "w/v2/source"}, tree(t, l))
	require.NoError(t, l.Delete(ctx, "w/v1/source"))
	require.Equal(t, []string{".tmp/", "w/", "w/v2/", "w/v2/source"}, tree(t, l))
	require.NoError(t, l.DeletePrefix(ctx, "w/"))
	require.Equal(t, []string{".tmp/"}, tree(t, l), "the root and .tmp stay")
}

// On a filesystem, a key cannot be both an object and a directory; S3
// allows it, vindex's key layout never needs it.
func TestLocalKeyThatIsAlsoAPrefix(t *testing.T) {
	t.Parallel()
	blobtest.Shared(t)
	ctx := context.Background()
	l := newLocal(t)
	_, err := l.Put(ctx, "a/b", strings.NewReader("file"), "")
	require.NoError(t, err)
	_, err = l.Put(ctx, "a", strings.NewReader("x"), "")
	require.Error(t, err)
	_, err = l.Put(ctx, "a/b/c", strings.NewReader("x"), "")
	require.Error(t, err)
	require.Empty(t, tmpFiles(t, l))
	infos, err := l.List(ctx, "")
	require.NoError(t, err)
	require.Len(t, infos, 1)
}

func TestLocalFetchHardLinks(t *testing.T) {
	t.Parallel()
	blobtest.Shared(t)
	ctx := context.Background()
	l := newLocal(t)
	_, err := l.Put(ctx, "k/frame.jpg", strings.NewReader("jpeg"), "")
	require.NoError(t, err)
	src, err := l.Path("k/frame.jpg")
	require.NoError(t, err)
	dst := filepath.Join(t.TempDir(), "frame.jpg") // same filesystem as the store here

	require.NoError(t, blob.Fetch(ctx, l, "k/frame.jpg", dst))
	si, err := os.Stat(src)
	require.NoError(t, err)
	di, err := os.Stat(dst)
	require.NoError(t, err)
	require.True(t, os.SameFile(si, di), "Fetch from a Local store should link, not copy")
}

func TestLocalContentTypeSurvivesReopen(t *testing.T) {
	t.Parallel()
	blobtest.Shared(t)
	ctx := context.Background()
	l := newLocal(t)
	_, err := l.Put(ctx, "w/v/source", strings.NewReader("x"), "video/quicktime")
	require.NoError(t, err)
	again, err := blob.NewLocal(l.Dir())
	require.NoError(t, err)
	st, err := again.Stat(ctx, "w/v/source")
	require.NoError(t, err)
	require.Equal(t, "video/quicktime", st.ContentType)
}

func TestLocalSweepsStaleTempFiles(t *testing.T) {
	t.Parallel()
	blobtest.Shared(t)
	l := newLocal(t)
	tmp := filepath.Join(l.Dir(), ".tmp")
	stale, fresh := filepath.Join(tmp, "put-crashed"), filepath.Join(tmp, "put-running")
	require.NoError(t, os.WriteFile(stale, []byte("x"), 0o600))
	require.NoError(t, os.WriteFile(fresh, []byte("x"), 0o600))
	old := time.Now().Add(-48 * time.Hour)
	require.NoError(t, os.Chtimes(stale, old, old))

	_, err := blob.NewLocal(l.Dir())
	require.NoError(t, err)
	require.NoFileExists(t, stale)
	require.FileExists(t, fresh, "a temp file in use by a running Put must survive")
}
