package blob_test

import (
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/stretchr/testify/require"

	"github.com/vindex/vindex/internal/blob"
	"github.com/vindex/vindex/internal/blob/blobtest"
)

const testBucket = "vindex-test"

// storeSeq gives every S3 test store its own prefix in the shared bucket.
var storeSeq atomic.Int64

func TestS3(t *testing.T) {
	t.Parallel()
	gw := versityGW(t)
	raw := rawClient(t, gw)
	blobtest.Run(t, func(t *testing.T) blobtest.Fixture {
		s, prefix := newS3(t, gw)
		return blobtest.Fixture{Store: s, Leftovers: func(t *testing.T) []string {
			var uploads []string
			for u := range raw.ListIncompleteUploads(t.Context(), testBucket, prefix, true) {
				require.NoError(t, u.Err)
				uploads = append(uploads, u.Key+" "+u.UploadID)
			}
			return uploads
		}}
	})
}

func newS3(t *testing.T, gw *blobtest.VersityGW) (*blob.S3, string) {
	t.Helper()
	prefix := fmt.Sprintf("store-%d", storeSeq.Add(1))
	s, err := blob.NewS3(t.Context(), gw.Config(testBucket, prefix))
	require.NoError(t, err)
	return s, prefix + "/"
}

// rawClient sees the bucket as it is, past the store's prefix.
func rawClient(t *testing.T, gw *blobtest.VersityGW) *minio.Client {
	t.Helper()
	c, err := minio.New(gw.Endpoint, &minio.Options{
		Creds: credentials.NewStaticV4(gw.AccessKey, gw.SecretKey, ""), Region: gw.Region,
	})
	require.NoError(t, err)
	return c
}

func TestS3PrefixIsolatesStores(t *testing.T) {
	t.Parallel()
	blobtest.Shared(t)
	gw := versityGW(t)
	ctx := t.Context()
	a, aPrefix := newS3(t, gw)
	b, _ := newS3(t, gw)
	_, err := a.Put(ctx, "w/v/source", strings.NewReader("a"), "")
	require.NoError(t, err)
	_, err = b.Put(ctx, "w/v/source", strings.NewReader("b"), "")
	require.NoError(t, err)

	require.NoError(t, b.DeletePrefix(ctx, "w/"))
	infos, err := a.List(ctx, "")
	require.NoError(t, err)
	require.Len(t, infos, 1)
	require.Equal(t, "w/v/source", infos[0].Key)

	// The object really lives under the prefix.
	_, err = rawClient(t, gw).StatObject(ctx, testBucket, aPrefix+"w/v/source", minio.StatObjectOptions{})
	require.NoError(t, err)
}

func TestS3CreatesBucket(t *testing.T) {
	t.Parallel()
	blobtest.Shared(t)
	gw := versityGW(t)
	ctx := t.Context()
	cfg := gw.Config(fmt.Sprintf("fresh-%d", storeSeq.Add(1)), "")
	s, err := blob.NewS3(ctx, cfg)
	require.NoError(t, err)
	exists, err := rawClient(t, gw).BucketExists(ctx, cfg.Bucket)
	require.NoError(t, err)
	require.True(t, exists)
	_, err = s.Put(ctx, "k", strings.NewReader("x"), "")
	require.NoError(t, err)
	_, err = blob.NewS3(ctx, cfg) // exists now
	require.NoError(t, err)
}

// An open object keeps to the version it opened: after an overwrite, a
// ranged read fails rather than return bytes of the new version.
func TestS3ReadAfterOverwriteFails(t *testing.T) {
	t.Parallel()
	blobtest.Shared(t)
	gw := versityGW(t)
	ctx := t.Context()
	s, _ := newS3(t, gw)
	const size = 2 << 20
	_, err := s.Put(ctx, "k", blobtest.NewPattern(1, size), "")
	require.NoError(t, err)
	obj, err := s.Open(ctx, "k")
	require.NoError(t, err)
	defer obj.Close()
	buf := make([]byte, 1024)
	_, err = io.ReadFull(obj, buf)
	require.NoError(t, err)

	_, err = s.Put(ctx, "k", blobtest.NewPattern(2, size), "")
	require.NoError(t, err)
	_, err = obj.Seek(size/2, io.SeekStart)
	require.NoError(t, err)
	_, err = io.ReadFull(obj, buf)
	require.ErrorContains(t, err, "replaced since it was opened")
}

func TestNewS3RejectsBadConfig(t *testing.T) {
	t.Parallel()
	ok := blob.S3Config{Endpoint: "127.0.0.1:1", Bucket: "b", AccessKey: "a", SecretKey: "s"}
	for name, mutate := range map[string]func(*blob.S3Config){
		"no bucket":        func(c *blob.S3Config) { c.Bucket = "" },
		"no access key":    func(c *blob.S3Config) { c.AccessKey = "" },
		"no secret key":    func(c *blob.S3Config) { c.SecretKey = "" },
		"endpoint scheme":  func(c *blob.S3Config) { c.Endpoint = "http://127.0.0.1:9000" },
		"bad prefix":       func(c *blob.S3Config) { c.Prefix = "a/../b" },
		"prefix with dots": func(c *blob.S3Config) { c.Prefix = ".." },
	} {
		cfg := ok
		mutate(&cfg)
		_, err := blob.NewS3(t.Context(), cfg)
		require.Error(t, err, name)
	}
}
