package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"time"
)

// Sentinel errors callers branch on. API answers wrap them through *APIError, so use errors.Is.
var (
	// ErrAlreadyExists is the 409 of an enqueue whose run id is taken: submitting the same id
	// twice is how vindex makes submission idempotent.
	ErrAlreadyExists = errors.New("dag-run already exists")
	// ErrNotFound is a 404: no such run (or step). A run can 404 for a moment right after it
	// was enqueued, so pollers should treat it as "not yet" for a short while.
	ErrNotFound = errors.New("dag-run not found")
	// ErrUnauthorized is a 401/403: missing or wrong token.
	ErrUnauthorized = errors.New("dagu API: unauthorized")
	// ErrInvalid is returned before any request for arguments Dagu would misinterpret.
	ErrInvalid = errors.New("invalid argument")
	// ErrStopping is returned by Enqueue on a Supervisor's client once Stop has begun.
	ErrStopping = errors.New("runner is stopping")
)

// idPattern is what Dagu accepts as a run id. Parameter values are held to it as well:
// Dagu substitutes $VAR into command text and evaluates backticks inside values, so only
// generated identifiers are safe to pass (see dagu.md, "Params are not data-safe").
var (
	idPattern      = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)
	dagNamePattern = regexp.MustCompile(`^[a-zA-Z0-9_.-]{1,40}$`)
	envKeyPattern  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// Run statuses as Dagu 1.30 reports them in Run.Status.
const (
	StatusNotStarted         = 0
	StatusRunning            = 1
	StatusFailed             = 2
	StatusAborted            = 3
	StatusSucceeded          = 4
	StatusQueued             = 5
	StatusPartiallySucceeded = 6
	StatusWaiting            = 7
	StatusRejected           = 8
)

// Client calls the Dagu REST API v2. The zero value is not usable; use NewClient.
type Client struct {
	// BaseURL is the server root including any basePath, without /api/v2
	// (e.g. "http://127.0.0.1:8080").
	BaseURL string
	// HTTPClient defaults to a client with a 30 s timeout; request contexts bound calls too.
	HTTPClient *http.Client

	token string
	// stopping, when set and true, makes Enqueue refuse new work (a Supervisor draining).
	stopping *atomic.Bool
}

// NewClient returns a client for the server at baseURL authenticating with token ("" for
// none).
func NewClient(baseURL, token string) *Client {
	return &Client{
		BaseURL:    strings.TrimRight(baseURL, "/"),
		HTTPClient: &http.Client{Timeout: 30 * time.Second},
		token:      token,
	}
}

// APIError is a non-2xx answer. It never contains the token.
type APIError struct {
	Method     string
	Path       string
	StatusCode int
	Code       string // Dagu's error code, e.g. "not_found", when the body had one
	Body       string // short excerpt of the body
}

func (e *APIError) Error() string {
	msg := fmt.Sprintf("dagu API %s %s: %d %s", e.Method, e.Path, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// Is maps status codes to the package's sentinel errors.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrAlreadyExists:
		return e.StatusCode == http.StatusConflict
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden
	}
	return false
}

// Health checks /api/v2/health (which needs no token) and that the server says "healthy".
func (c *Client) Health(ctx context.Context) error {
	var out struct {
		Status string `json:"status"`
	}
	if err := c.do(ctx, http.MethodGet, "/api/v2/health", nil, &out); err != nil {
		return fmt.Errorf("dagu health: %w", err)
	}
	if out.Status != "healthy" {
		return fmt.Errorf("dagu health: status %q", out.Status)
	}
	return nil
}

// Enqueue submits an inline DAG spec as run runID of DAG name on queue ("" for Dagu's
// default, which is a queue per DAG name). Params become the run's parameters; keys must be
// environment variable names and values must match ^[a-zA-Z0-9_-]+$ (pass ids you generated,
// never user text). Submitting a runID that exists returns an error matching
// ErrAlreadyExists, whatever state that run is in.
//
// A run enqueued here is dispatched to the embedded worker when spec (or Home/base.yaml,
// which the Supervisor writes) carries WorkerSelectorYAML.
func (c *Client) Enqueue(ctx context.Context, name, spec string, params map[string]string, runID, queue string) error {
	if c.stopping != nil && c.stopping.Load() {
		return ErrStopping
	}
	if err := checkEnqueue(name, spec, params, runID, queue); err != nil {
		return fmt.Errorf("enqueue %s/%s: %w", name, runID, err)
	}
	body := map[string]string{"name": name, "spec": spec, "dagRunId": runID}
	if len(params) > 0 {
		b, err := json.Marshal(params) // sorted keys: the same params give the same body
		if err != nil {
			return fmt.Errorf("enqueue %s/%s: encode params: %w", name, runID, err)
		}
		body["params"] = string(b)
	}
	if queue != "" {
		body["queue"] = queue
	}
	if err := c.do(ctx, http.MethodPost, "/api/v2/dag-runs/enqueue", body, nil); err != nil {
		return fmt.Errorf("enqueue %s/%s: %w", name, runID, err)
	}
	return nil
}

func checkEnqueue(name, spec string, params map[string]string, runID, queue string) error {
	if !dagNamePattern.MatchString(name) {
		return fmt.Errorf("%w: DAG name %q must match %s", ErrInvalid, name, dagNamePattern)
	}
	if strings.TrimSpace(spec) == "" {
		return fmt.Errorf("%w: empty spec", ErrInvalid)
	}
	if !idPattern.MatchString(runID) {
		return fmt.Errorf("%w: run id %q must match %s", ErrInvalid, runID, idPattern)
	}
	if queue != "" && !idPattern.MatchString(queue) {
		return fmt.Errorf("%w: queue %q must match %s", ErrInvalid, queue, idPattern)
	}
	for k, v := range params {
		if !envKeyPattern.MatchString(k) {
			return fmt.Errorf("%w: param name %q must match %s", ErrInvalid, k, envKeyPattern)
		}
		if !idPattern.MatchString(v) {
			// The value is not quoted back: it may be exactly the text that must not travel.
			return fmt.Errorf("%w: value of param %s must match %s (Dagu evaluates $VAR and backticks in params)", ErrInvalid, k, idPattern)
		}
	}
	return nil
}

// Node is one step of a run.
type Node struct {
	Step       string
	Status     string // Dagu's label: "not_started", "running", "failed", "aborted", "succeeded", …
	RetryCount int
	// StartedAt and FinishedAt have 1 s resolution; zero when not reached.
	StartedAt, FinishedAt time.Time
	Error                 string
}

// Run is a dag-run's state. Status is one of the Status* constants.
type Run struct {
	Name, ID    string
	Status      int
	StatusLabel string
	Nodes       []Node
	// WorkerID is the worker that ran it; "local" or "" when it ran inside start-all.
	WorkerID string
}

// Terminal reports whether the run has ended. Dagu can show a run "failed" for a moment
// before "succeeded" (dagu.md), so a caller acting on failure should confirm it on a later poll.
func (r *Run) Terminal() bool {
	switch r.Status {
	case StatusFailed, StatusAborted, StatusSucceeded, StatusPartiallySucceeded, StatusRejected:
		return true
	}
	return false
}

// Node returns the node of the named step, or nil.
func (r *Run) Node(step string) *Node {
	for i := range r.Nodes {
		if r.Nodes[i].Step == step {
			return &r.Nodes[i]
		}
	}
	return nil
}

// Run fetches the state of run runID of DAG name.
func (c *Client) Run(ctx context.Context, name, runID string) (*Run, error) {
	if err := checkRef(name, runID); err != nil {
		return nil, fmt.Errorf("get run %s/%s: %w", name, runID, err)
	}
	var out struct {
		Details struct {
			Name        string `json:"name"`
			ID          string `json:"dagRunId"`
			Status      int    `json:"status"`
			StatusLabel string `json:"statusLabel"`
			WorkerID    string `json:"workerId"`
			Nodes       []struct {
				Step struct {
					Name string `json:"name"`
				} `json:"step"`
				StatusLabel string `json:"statusLabel"`
				RetryCount  int    `json:"retryCount"`
				StartedAt   string `json:"startedAt"`
				FinishedAt  string `json:"finishedAt"`
				Error       string `json:"error"`
			} `json:"nodes"`
		} `json:"dagRunDetails"`
	}
	if err := c.do(ctx, http.MethodGet, runPath(name, runID), nil, &out); err != nil {
		return nil, fmt.Errorf("get run %s/%s: %w", name, runID, err)
	}
	d := out.Details
	r := &Run{Name: d.Name, ID: d.ID, Status: d.Status, StatusLabel: d.StatusLabel, WorkerID: d.WorkerID}
	for _, n := range d.Nodes {
		r.Nodes = append(r.Nodes, Node{
			Step:       n.Step.Name,
			Status:     n.StatusLabel,
			RetryCount: n.RetryCount,
			StartedAt:  parseTime(n.StartedAt),
			FinishedAt: parseTime(n.FinishedAt),
			Error:      n.Error,
		})
	}
	return r, nil
}

// Stop stops a running run (its steps get SIGTERM).
func (c *Client) Stop(ctx context.Context, name, runID string) error {
	if err := checkRef(name, runID); err != nil {
		return fmt.Errorf("stop run %s/%s: %w", name, runID, err)
	}
	if err := c.do(ctx, http.MethodPost, runPath(name, runID)+"/stop", nil, nil); err != nil {
		return fmt.Errorf("stop run %s/%s: %w", name, runID, err)
	}
	return nil
}

// Dequeue removes a run that is still waiting in its queue; Stop refuses
// those ("not_running"), and they would otherwise take a slot later.
func (c *Client) Dequeue(ctx context.Context, name, runID string) error {
	if err := checkRef(name, runID); err != nil {
		return fmt.Errorf("dequeue run %s/%s: %w", name, runID, err)
	}
	if err := c.do(ctx, http.MethodGet, runPath(name, runID)+"/dequeue", nil, nil); err != nil {
		return fmt.Errorf("dequeue run %s/%s: %w", name, runID, err)
	}
	return nil
}

// RetryStep re-runs one step of a finished run (and what depends on it), keeping the run id.
//
// Two traps of Dagu 1.30. A retry that comes within about a second of the run's end is
// answered 200 and then dropped — the step turns "not_started", the run stays "failed", and
// start-all logs "failed to acquire process handle" — so RetryStep first reads the run and
// waits until retryGap has passed since its last step finished. And retries execute inside
// start-all ("local"), not on the worker, so a long retried step dies with start-all.
// vindex's reconciler prefers a new run id for real work.
func (c *Client) RetryStep(ctx context.Context, name, runID, step string) error {
	if err := checkRef(name, runID); err != nil {
		return fmt.Errorf("retry step %s of %s/%s: %w", step, name, runID, err)
	}
	if step == "" {
		return fmt.Errorf("retry step of %s/%s: %w: empty step name", name, runID, ErrInvalid)
	}
	r, err := c.Run(ctx, name, runID)
	if err != nil {
		return fmt.Errorf("retry step %s: %w", step, err)
	}
	var ended time.Time
	for _, n := range r.Nodes {
		if n.FinishedAt.After(ended) {
			ended = n.FinishedAt
		}
	}
	// FinishedAt is truncated to the second, so this waits at least retryGap-1s after the end.
	if wait := time.Until(ended.Add(retryGap)); wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("retry step %s of %s/%s: %w", step, name, runID, ctx.Err())
		case <-t.C:
		}
	}
	body := map[string]string{"dagRunId": runID, "stepName": step}
	if err := c.do(ctx, http.MethodPost, runPath(name, runID)+"/retry", body, nil); err != nil {
		return fmt.Errorf("retry step %s of %s/%s: %w", step, name, runID, err)
	}
	return nil
}

// retryGap is how long after a run's last step finished RetryStep waits before retrying
// (measured: retries 0.7 s after the end were dropped, 1 s after went through).
const retryGap = 2 * time.Second

// StepLog returns a step's captured "stdout" or "stderr".
func (c *Client) StepLog(ctx context.Context, name, runID, step, stream string) (string, error) {
	if err := checkRef(name, runID); err != nil {
		return "", fmt.Errorf("step log %s of %s/%s: %w", step, name, runID, err)
	}
	// Dagu answers 500 without a stream, so it is checked here.
	if stream != "stdout" && stream != "stderr" {
		return "", fmt.Errorf("step log %s of %s/%s: %w: stream %q is not stdout or stderr", step, name, runID, ErrInvalid, stream)
	}
	var out struct {
		Content string `json:"content"`
	}
	path := runPath(name, runID) + "/steps/" + url.PathEscape(step) + "/log?stream=" + stream
	if err := c.do(ctx, http.MethodGet, path, nil, &out); err != nil {
		return "", fmt.Errorf("step log %s of %s/%s: %w", step, name, runID, err)
	}
	return out.Content, nil
}

// WorkerInfo is one worker as the coordinator sees it.
type WorkerInfo struct {
	ID           string
	Labels       map[string]string
	HealthStatus string // "healthy", "warning" (no heartbeat for ~5 s) or "unhealthy" (~15 s)
	// LastHeartbeatAt has 1 s resolution; workers beat every second.
	LastHeartbeatAt time.Time
	RunningTasks    int
}

// Workers lists the workers known to the coordinator, including ones that stopped beating
// (they linger as "unhealthy").
func (c *Client) Workers(ctx context.Context) ([]WorkerInfo, error) {
	var out struct {
		Workers []struct {
			ID              string            `json:"id"`
			Labels          map[string]string `json:"labels"`
			HealthStatus    string            `json:"healthStatus"`
			LastHeartbeatAt string            `json:"lastHeartbeatAt"`
			RunningTasks    []json.RawMessage `json:"runningTasks"`
		} `json:"workers"`
	}
	if err := c.do(ctx, http.MethodGet, "/api/v2/workers", nil, &out); err != nil {
		return nil, fmt.Errorf("list workers: %w", err)
	}
	ws := make([]WorkerInfo, 0, len(out.Workers))
	for _, w := range out.Workers {
		ws = append(ws, WorkerInfo{
			ID:              w.ID,
			Labels:          w.Labels,
			HealthStatus:    w.HealthStatus,
			LastHeartbeatAt: parseTime(w.LastHeartbeatAt),
			RunningTasks:    len(w.RunningTasks),
		})
	}
	return ws, nil
}

func checkRef(name, runID string) error {
	if !dagNamePattern.MatchString(name) {
		return fmt.Errorf("%w: DAG name %q must match %s", ErrInvalid, name, dagNamePattern)
	}
	if !idPattern.MatchString(runID) {
		return fmt.Errorf("%w: run id %q must match %s", ErrInvalid, runID, idPattern)
	}
	return nil
}

func runPath(name, runID string) string {
	return "/api/v2/dag-runs/" + url.PathEscape(name) + "/" + url.PathEscape(runID)
}

func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

// maxErrorBody bounds how much of an error answer goes into an error message.
const maxErrorBody = 300

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, body)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	hc := c.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		// *url.Error quotes the URL, which never holds the token.
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return c.apiError(method, path, resp)
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		return nil
	}
	// Unprefixed paths under a basePath answer 200 with the web UI's HTML: say so rather
	// than "invalid character '<'".
	if ct := resp.Header.Get("Content-Type"); ct != "" && !strings.Contains(ct, "json") {
		return fmt.Errorf("dagu API %s %s: answered %s, not JSON (wrong BaseURL or basePath?)", method, path, ct)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("dagu API %s %s: decode answer: %w", method, path, err)
	}
	return nil
}

func (c *Client) apiError(method, path string, resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	e := &APIError{Method: method, Path: path, StatusCode: resp.StatusCode}
	var parsed struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	excerpt := strings.TrimSpace(string(b))
	if json.Unmarshal(b, &parsed) == nil && parsed.Message != "" {
		e.Code = parsed.Code
		excerpt = parsed.Message
	}
	if c.token != "" {
		excerpt = strings.ReplaceAll(excerpt, c.token, "***")
	}
	if len(excerpt) > maxErrorBody {
		excerpt = strings.ToValidUTF8(excerpt[:maxErrorBody], "") + "…"
	}
	e.Body = excerpt
	return e
}
