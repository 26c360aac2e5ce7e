package openai

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vindex/vindex/internal/models/openai/internal/wav"
)

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		header http.Header
		want   time.Duration
	}{
		{"none", http.Header{}, -1},
		{"seconds", http.Header{"Retry-After": {"3"}}, 3 * time.Second},
		{"fractional seconds", http.Header{"Retry-After": {"0.5"}}, 500 * time.Millisecond},
		{"milliseconds win", http.Header{"Retry-After-Ms": {"250"}, "Retry-After": {"1"}}, 250 * time.Millisecond},
		{"date in the past", http.Header{"Retry-After": {"Wed, 21 Oct 2015 07:28:00 GMT"}}, 0},
		{"garbage", http.Header{"Retry-After": {"soon"}}, -1},
		{"negative", http.Header{"Retry-After": {"-4"}}, -1},
	}
	for _, tc := range tests {
		require.Equal(t, tc.want, retryAfter(tc.header), tc.name)
	}
	future := time.Now().Add(30 * time.Second).UTC().Format(http.TimeFormat)
	require.InDelta(t, 30*time.Second, retryAfter(http.Header{"Retry-After": {future}}), float64(2*time.Second))
}

func TestParseAPIError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		body   string
		want   APIError
	}{
		{"openai", 429, `{"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}}`,
			APIError{StatusCode: 429, Message: "Rate limit reached", Type: "requests", Code: "rate_limit_exceeded"}},
		{"null code", 400, `{"error":{"message":"bad","type":"invalid_request_error","code":null}}`,
			APIError{StatusCode: 400, Message: "bad", Type: "invalid_request_error"}},
		{"numeric code", 400, `{"error":{"message":"bad","code":400}}`,
			APIError{StatusCode: 400, Message: "bad", Code: "400"}},
		{"string error", 500, `{"error":"model crashed"}`, APIError{StatusCode: 500, Message: "model crashed"}},
		{"fastapi detail", 422, `{"detail":[{"loc":["body","model"],"msg":"field required"}]}`,
			APIError{StatusCode: 422, Message: `[{"loc":["body","model"],"msg":"field required"}]`}},
		{"html gateway page", 502, "<html>\n<body>Bad   Gateway</body></html>", APIError{StatusCode: 502, Message: "<html> <body>Bad Gateway</body></html>"}},
		{"empty", 503, "", APIError{StatusCode: 503, Message: "Service Unavailable"}},
		{"bare 404", 404, "404 page not found", APIError{StatusCode: 404,
			Message: "http://x/embeddings not found; the base URL must include the API version, like https://api.openai.com/v1"}},
	}
	for _, tc := range tests {
		require.Equal(t, &tc.want, parseAPIError(tc.status, []byte(tc.body), "http://x/embeddings"), tc.name)
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status int
		code   string
		want   error
	}{
		{401, "invalid_api_key", ErrAuth},
		{403, "", ErrAuth},
		{400, "", ErrRequest},
		{404, "model_not_found", ErrRequest},
		{413, "", ErrRequest},
		{422, "", ErrRequest},
		{429, "rate_limit_exceeded", ErrTemporary},
		{429, "insufficient_quota", ErrRequest},
		{408, "", ErrTemporary},
		{409, "", ErrTemporary},
		{500, "", ErrTemporary},
		{503, "", ErrTemporary},
	}
	for _, tc := range tests {
		err := classify(&APIError{StatusCode: tc.status, Code: tc.code})
		require.ErrorIs(t, err, tc.want, "%d %s", tc.status, tc.code)
		var apiErr *APIError
		require.True(t, errors.As(err, &apiErr))
	}
}

func TestBackoffDelay(t *testing.T) {
	t.Parallel()
	c := New("http://x/v1", "")
	for attempt, base := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second} {
		d := c.backoffDelay(attempt + 1)
		require.GreaterOrEqual(t, d, base/2)
		require.LessOrEqual(t, d, base)
	}
	require.LessOrEqual(t, c.backoffDelay(20), maxBackoff)
}

func TestSplit(t *testing.T) {
	t.Parallel()
	mono := wav.Header{Channels: 1, SampleRate: 16000, BitsPerSample: 16}
	stereo48 := wav.Header{Channels: 2, SampleRate: 48000, BitsPerSample: 16}
	const minute = 16000 * 2 * 60
	tests := []struct {
		name   string
		h      wav.Header
		size   int64
		starts []float64
	}{
		{"empty", mono, 0, nil},
		{"fits one upload", mono, 13 * minute, []float64{0}},
		{"even chunks of at most ten minutes", mono, 26 * minute, []float64{0, 520, 1040}},
		{"no sliver at the end", mono, 20*minute + 32, []float64{0, 400, 800}},
		{"dense audio is cut by size", stereo48, 4 * 192000 * 60, []float64{0, 120}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pieces := split(tc.h, tc.size)
			var starts []float64
			var total int64
			for _, p := range pieces {
				starts = append(starts, p.start)
				require.Equal(t, total, p.off)
				require.Zero(t, p.size%int64(tc.h.BlockAlign()))
				require.LessOrEqual(t, wav.HeaderSize+p.size+envelope, int64(uploadLimit))
				if len(pieces) > 1 {
					require.LessOrEqual(t, tc.h.Seconds(p.size), float64(chunkSeconds))
				}
				total += p.size
			}
			require.Equal(t, tc.size, total)
			require.Len(t, starts, len(tc.starts))
			require.InDeltaSlice(t, tc.starts, starts, 0.01)
		})
	}
}
