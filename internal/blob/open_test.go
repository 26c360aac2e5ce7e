package blob_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vindex/vindex/internal/blob"
	"github.com/vindex/vindex/internal/blob/blobtest"
)

func TestOpenLocal(t *testing.T) {
	t.Parallel()
	blobtest.Shared(t)
	dataDir := t.TempDir()
	abs := filepath.Join(t.TempDir(), "elsewhere")
	for spec, wantDir := range map[string]string{
		"":                       filepath.Join(dataDir, "blobs"),
		"local":                  filepath.Join(dataDir, "blobs"),
		"file://" + abs:          abs,
		"file://" + abs + "/":    abs,
		"file://localhost" + abs: abs,
	} {
		s, err := blob.Open(t.Context(), spec, dataDir, "", "")
		require.NoError(t, err, spec)
		l, ok := s.(*blob.Local)
		require.True(t, ok, spec)
		require.Equal(t, wantDir, l.Dir(), spec)
		require.DirExists(t, wantDir)
	}
}

func TestOpenRejects(t *testing.T) {
	t.Parallel()
	for _, spec := range []string{
		"file://relative/dir", "file:relative", "file:///abs?x=1",
		"s3://", "s3:bucket", "s3://bucket?nope=1", "s3://bucket?ssl=maybe",
		"s3://bucket?region=a&region=b", "s3://bucket/../x",
		"ftp://host/dir", "/plain/path", "LOCAL",
	} {
		_, err := blob.Open(t.Context(), spec, t.TempDir(), "ak", "sk")
		require.Error(t, err, spec)
	}
	_, err := blob.Open(t.Context(), "local", "", "", "")
	require.Error(t, err, "no data dir")
}

func TestOpenKeepsSecretsOutOfErrors(t *testing.T) {
	t.Parallel()
	for _, spec := range []string{
		"s3://AKIAEXAMPLE:hunter2secret@bucket/p",
		"s3://AKIAEXAMPLE:hunter2secret@bucket/p%zz", // malformed too
	} {
		_, err := blob.Open(t.Context(), spec, t.TempDir(), "", "")
		require.Error(t, err)
		require.NotContains(t, err.Error(), "hunter2secret")
	}
}

func TestParseS3URL(t *testing.T) {
	t.Parallel()
	cfg, err := blob.ParseS3URL("s3://media/vindex/prod?endpoint=127.0.0.1:9000&region=eu-west-1&ssl=false")
	require.NoError(t, err)
	require.Equal(t, blob.S3Config{
		Endpoint: "127.0.0.1:9000", Region: "eu-west-1", Bucket: "media", Prefix: "vindex/prod",
	}, cfg)

	cfg, err = blob.ParseS3URL("s3://media")
	require.NoError(t, err)
	require.Equal(t, blob.S3Config{Bucket: "media", UseSSL: true}, cfg, "AWS with TLS by default")
}

func TestOpenS3(t *testing.T) {
	t.Parallel()
	blobtest.Shared(t)
	gw := versityGW(t)
	spec := "s3://" + testBucket + "/open-test?endpoint=" + gw.Endpoint + "&region=" + gw.Region + "&ssl=false"
	s, err := blob.Open(t.Context(), spec, "", gw.AccessKey, gw.SecretKey)
	require.NoError(t, err)
	require.IsType(t, &blob.S3{}, s)
	_, err = s.Put(t.Context(), "k", strings.NewReader("x"), "")
	require.NoError(t, err)

	_, err = blob.Open(t.Context(), spec, "", "", "")
	require.ErrorContains(t, err, "access key")
	_, err = blob.Open(t.Context(), spec, "", gw.AccessKey, "wrong")
	require.Error(t, err)
}
