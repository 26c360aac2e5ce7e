package openai_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vindex/vindex/internal/models/openai"
	"github.com/vindex/vindex/internal/models/openai/openaitest"
	"github.com/vindex/vindex/internal/testmedia"
)

func TestAuthFailure(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, key, code string
	}{
		{"wrong key", "sk-wrong-key-123456", "invalid_api_key"},
		{"no key", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := openaitest.New(t)
			c := openai.New(srv.URL(), tc.key)
			_, err := c.Embed(t.Context(), "text-embedding-3-small", []string{"hello"}, 0)
			require.ErrorIs(t, err, openai.ErrAuth)
			var apiErr *openai.APIError
			require.ErrorAs(t, err, &apiErr)
			require.Equal(t, http.StatusUnauthorized, apiErr.StatusCode)
			require.Equal(t, tc.code, apiErr.Code)
			require.NotEmpty(t, apiErr.Message)
			require.Len(t, srv.Requests(), 1, "a refused key is not retried")
		})
	}
}

func TestRetryHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	srv, c := setup(t)
	srv.RetryAfter = 1200 * time.Millisecond
	srv.FailNext(http.StatusTooManyRequests, 1)

	began := time.Now()
	vecs, err := c.Embed(t.Context(), "text-embedding-3-small", []string{"hello"}, 8)
	require.NoError(t, err)
	require.Len(t, vecs, 1)
	// The client's own backoff is a millisecond; only the header makes it wait.
	require.GreaterOrEqual(t, time.Since(began), srv.RetryAfter)
	require.Equal(t, []int{429, 200}, statuses(srv.Requests()))
}

func TestRetryTranscriptionUpload(t *testing.T) {
	t.Parallel()
	srv, c := setup(t)
	srv.FailNext(http.StatusServiceUnavailable, 2)
	_, err := c.Transcribe(t.Context(), testmedia.Path(t, testmedia.JFK), "whisper-1")
	require.NoError(t, err)
	reqs := srv.Requests()
	require.Equal(t, []int{503, 503, 200}, statuses(reqs))
	require.InDelta(t, 11.0, reqs[2].Seconds, 0.01, "the retried upload carries the whole file")
}

func TestServerErrorsExhaustRetries(t *testing.T) {
	t.Parallel()
	srv, c := setup(t)
	srv.FailNext(http.StatusInternalServerError, 100)

	_, err := c.Embed(t.Context(), "text-embedding-3-small", []string{"hello"}, 0)
	require.ErrorIs(t, err, openai.ErrTemporary)
	require.ErrorContains(t, err, "gave up after 4 attempts")
	var apiErr *openai.APIError
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, http.StatusInternalServerError, apiErr.StatusCode)
	require.Equal(t, []int{500, 500, 500, 500}, statuses(srv.Requests()))
}

func TestTooLongRetryAfterFailsFast(t *testing.T) {
	t.Parallel()
	srv, c := setup(t)
	srv.RetryAfter = 10 * time.Minute
	srv.FailNext(http.StatusTooManyRequests, 1)
	_, err := c.Embed(t.Context(), "text-embedding-3-small", []string{"hello"}, 0)
	require.ErrorIs(t, err, openai.ErrTemporary)
	require.ErrorContains(t, err, "retry in 10m0s")
	require.Len(t, srv.Requests(), 1)
}

func TestCancel(t *testing.T) {
	t.Parallel()
	srv, c := setup(t)
	srv.Delay = time.Minute

	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	began := time.Now()
	_, err := c.Transcribe(ctx, testmedia.Path(t, testmedia.JFK), "whisper-1")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.NotErrorIs(t, err, openai.ErrTemporary, "a cancelled call must not look retryable")
	require.Less(t, time.Since(began), 10*time.Second)
}

func TestRequestTimeoutIsTemporary(t *testing.T) {
	t.Parallel()
	srv, c := setup(t, openai.WithTimeouts(0, 100*time.Millisecond), openai.WithRetry(2, time.Millisecond))
	srv.Delay = time.Minute

	_, err := c.Embed(t.Context(), "text-embedding-3-small", []string{"hello"}, 0)
	require.ErrorIs(t, err, openai.ErrTemporary)
	require.ErrorContains(t, err, "no response within 100ms")
	require.NoError(t, t.Context().Err())
}

func TestUnreachableServerIsTemporary(t *testing.T) {
	t.Parallel()
	c := openai.New("http://127.0.0.1:1/v1", "", openai.WithRetry(2, time.Millisecond))
	_, err := c.Embed(t.Context(), "text-embedding-3-small", []string{"hello"}, 0)
	require.ErrorIs(t, err, openai.ErrTemporary)
}

func TestBaseURL(t *testing.T) {
	t.Parallel()
	srv := openaitest.New(t)
	tests := []struct {
		name, base string
		want       error
	}{
		{"with trailing slash", srv.URL() + "/", nil},
		{"missing /v1", srv.URL()[:len(srv.URL())-len("/v1")], openai.ErrRequest},
		{"not a URL", "localhost:8080/v1", openai.ErrRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := openai.New(tc.base, srv.Key).Embed(t.Context(), "text-embedding-3-small", []string{"hi"}, 0)
			if tc.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tc.want)
			require.False(t, errors.Is(err, openai.ErrTemporary))
		})
	}
}
