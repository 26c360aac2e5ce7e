package openai_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/vindex/vindex/internal/models/openai"
	"github.com/vindex/vindex/internal/models/openai/openaitest"
)

// setup starts a fake provider and a client for it whose backoff is short,
// so that retry tests wait only where the server says so.
func setup(t *testing.T, opts ...openai.Option) (*openaitest.Server, *openai.Client) {
	t.Helper()
	srv := openaitest.New(t)
	opts = append([]openai.Option{
		openai.WithRetry(4, time.Millisecond),
		openai.WithLogger(slog.New(slog.NewTextHandler(t.Output(), nil))),
	}, opts...)
	return srv, openai.New(srv.URL(), srv.Key, opts...)
}

func statuses(reqs []openaitest.Request) []int {
	out := make([]int, len(reqs))
	for i, r := range reqs {
		out[i] = r.Status
	}
	return out
}
