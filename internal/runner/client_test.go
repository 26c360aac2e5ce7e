package runner_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vindex/vindex/internal/runner"
)

// fakeDagu answers every request with status and body and counts requests.
func fakeDagu(t *testing.T, status int, body string) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func TestEnqueueRefusesUnsafeInputBeforeAnyRequest(t *testing.T) {
	t.Parallel()
	srv, requests := fakeDagu(t, http.StatusOK, `{"dagRunId":"x"}`)
	c := runner.NewClient(srv.URL, "tok")
	spec := "steps:\n  - command: echo $VIDEO_ID\n"

	for name, tc := range map[string]struct {
		dag, runID, queue string
		params            map[string]string
	}{
		"dollar in value":    {dag: "ingest", runID: "r1", params: map[string]string{"VIDEO_ID": "$HOME"}},
		"backtick in value":  {dag: "ingest", runID: "r1", params: map[string]string{"VIDEO_ID": "`id -u`"}},
		"space in value":     {dag: "ingest", runID: "r1", params: map[string]string{"VIDEO_ID": "a b"}},
		"empty value":        {dag: "ingest", runID: "r1", params: map[string]string{"VIDEO_ID": ""}},
		"bad param name":     {dag: "ingest", runID: "r1", params: map[string]string{"VIDEO ID": "a"}},
		"run id with slash":  {dag: "ingest", runID: "a/b"},
		"run id with dollar": {dag: "ingest", runID: "a$b"},
		"empty run id":       {dag: "ingest", runID: ""},
		"bad dag name":       {dag: "in gest", runID: "r1"},
		"bad queue":          {dag: "ingest", runID: "r1", queue: "q q"},
	} {
		err := c.Enqueue(context.Background(), tc.dag, spec, tc.params, tc.runID, tc.queue)
		require.ErrorIs(t, err, runner.ErrInvalid, name)
		require.NotContains(t, err.Error(), "id -u", "the refused value is not echoed")
	}
	require.ErrorIs(t, c.Enqueue(context.Background(), "ingest", "  ", nil, "r1", ""), runner.ErrInvalid)
	_, err := c.StepLog(context.Background(), "ingest", "r1", "a", "both")
	require.ErrorIs(t, err, runner.ErrInvalid)
	require.Zero(t, requests.Load(), "nothing was sent")

	require.NoError(t, c.Enqueue(context.Background(), "ingest", spec,
		map[string]string{"VIDEO_ID": "0b7e2c1a-5f0e-4c4e-9d51-2a3f6f1e9a10"}, "run_0b7e-2c1a", "ingest"))
	require.EqualValues(t, 1, requests.Load())
}

func TestErrorsMapStatusAndNeverShowTheToken(t *testing.T) {
	t.Parallel()
	const token = "s3cret-token-value"
	for _, tc := range []struct {
		status int
		body   string
		want   error
	}{
		{http.StatusConflict, `{"code":"already_exists","message":"dag-run ID r1 already exists for DAG d"}`, runner.ErrAlreadyExists},
		{http.StatusNotFound, `{"code":"not_found","message":"dag-run ID r1 not found for DAG d"}`, runner.ErrNotFound},
		{http.StatusUnauthorized, ``, runner.ErrUnauthorized},
		{http.StatusInternalServerError, `boom ` + token + ` boom`, nil},
	} {
		srv, _ := fakeDagu(t, tc.status, tc.body)
		c := runner.NewClient(srv.URL, token)
		err := c.Enqueue(context.Background(), "d", "steps: []", nil, "r1", "")
		require.Error(t, err)
		var apiErr *runner.APIError
		require.ErrorAs(t, err, &apiErr)
		require.Equal(t, tc.status, apiErr.StatusCode)
		require.Contains(t, err.Error(), http.StatusText(tc.status))
		require.NotContains(t, err.Error(), token)
		if tc.want != nil {
			require.ErrorIs(t, err, tc.want)
		}
		_, err = c.Run(context.Background(), "d", "r1")
		require.Error(t, err)
		require.NotContains(t, err.Error(), token)
	}
}

func TestDotenvQuoting(t *testing.T) {
	t.Parallel()
	require.Equal(t, "A=\"x \\$HOME \\\"q\\\" \\\\ `id`\\nz\"\n", runner.Dotenv([]string{"A=x $HOME \"q\" \\ `id`\nz"}))
	require.Equal(t, "B=\"a=b\"\nC=\"\"\n", runner.Dotenv([]string{"B=a=b", "C="}))
}
