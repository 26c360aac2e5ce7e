package blob_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vindex/vindex/internal/blob/blobtest"
)

// gateway is the versitygw process the S3 tests share; started by the first
// test that needs it, so that `go test -run Local` never builds it.
var gateway struct {
	once sync.Once
	gw   *blobtest.VersityGW
	err  error
}

func versityGW(t *testing.T) *blobtest.VersityGW {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: S3 tests need a versitygw gateway")
	}
	gateway.once.Do(func() {
		// The first build on a machine compiles versitygw: allow for it.
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
		defer cancel()
		gateway.gw, gateway.err = blobtest.StartVersityGW(ctx)
		if gateway.err == nil {
			fmt.Fprintf(os.Stderr, "versitygw %s on %s: go install %v, start %v\n", blobtest.VersityGWVersion,
				gateway.gw.Endpoint, gateway.gw.BuildTime.Round(time.Millisecond), gateway.gw.StartTime.Round(time.Millisecond))
		}
	})
	require.NoError(t, gateway.err)
	return gateway.gw
}

func TestMain(m *testing.M) {
	code := m.Run()
	if gateway.gw != nil {
		if err := gateway.gw.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "stop versitygw:", err)
		}
	}
	os.Exit(code)
}
