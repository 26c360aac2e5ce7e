package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const (
	defaultTranscribeTimeout = 10 * time.Minute
	defaultEmbedTimeout      = time.Minute
	defaultAttempts          = 4
	defaultBackoff           = time.Second
	// maxBackoff caps the exponential delay between attempts.
	maxBackoff = 30 * time.Second
	// maxRetryAfter is the longest Retry-After the client sits out; a
	// server asking for more is better served by failing the job with
	// ErrTemporary and letting the pipeline reschedule it.
	maxRetryAfter = time.Minute
	// maxResponse bounds a success body: 256 vectors of 3072 floats in JSON
	// are about 16 MB.
	maxResponse = 64 << 20
)

// Client talks to one server speaking the OpenAI HTTP API. It is safe for
// concurrent use.
type Client struct {
	base              string // with the version, without a trailing slash
	baseErr           error  // why base is unusable
	key               string
	hc                *http.Client
	transcribeTimeout time.Duration
	embedTimeout      time.Duration
	attempts          int
	backoff           time.Duration
	log               *slog.Logger
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client, for proxies or custom TLS. Its own
// Timeout should stay zero: the per-request timeouts come from WithTimeouts.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithTimeouts sets how long one request may take: a transcription upload
// (default 10 min) and an embeddings batch (default 1 min). Zero keeps the
// default.
func WithTimeouts(transcribe, embed time.Duration) Option {
	return func(c *Client) {
		if transcribe > 0 {
			c.transcribeTimeout = transcribe
		}
		if embed > 0 {
			c.embedTimeout = embed
		}
	}
}

// WithRetry sets how many attempts a request gets (default 4) and the
// first backoff delay, which doubles per attempt (default 1 s).
func WithRetry(attempts int, backoff time.Duration) Option {
	return func(c *Client) {
		c.attempts, c.backoff = max(attempts, 1), max(backoff, 0)
	}
}

// WithLogger sets where retries are logged (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(c *Client) { c.log = l } }

// New returns a client for the API at baseURL, which includes the version
// ("https://api.openai.com/v1"). An empty apiKey sends no Authorization
// header, for local servers that want none. A malformed baseURL fails every
// call with ErrRequest.
func New(baseURL, apiKey string, opts ...Option) *Client {
	c := &Client{
		base:              strings.TrimRight(baseURL, "/"),
		key:               apiKey,
		hc:                &http.Client{},
		transcribeTimeout: defaultTranscribeTimeout,
		embedTimeout:      defaultEmbedTimeout,
		attempts:          defaultAttempts,
		backoff:           defaultBackoff,
		log:               slog.Default(),
	}
	if u, err := url.Parse(baseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		c.baseErr = fmt.Errorf("%w: base url %q is not an absolute http(s) URL like https://api.openai.com/v1", ErrRequest, baseURL)
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// call is one API call. body makes a fresh request body for every attempt,
// so uploads are re-read from disk instead of kept in memory for retries.
type call struct {
	path    string
	timeout time.Duration
	body    func() (r io.ReadCloser, size int64, contentType string, err error)
}

func jsonCall(path string, timeout time.Duration, v any) (call, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return call{}, fmt.Errorf("encode request: %w", err)
	}
	return call{path: path, timeout: timeout, body: func() (io.ReadCloser, int64, string, error) {
		return io.NopCloser(bytes.NewReader(b)), int64(len(b)), "application/json", nil
	}}, nil
}

// do runs the call, retrying temporary failures, and decodes the JSON
// answer into out.
func (c *Client) do(ctx context.Context, cl call, out any) error {
	if err := c.retry(ctx, cl, out); err != nil {
		return fmt.Errorf("post %s: %w", cl.path, err)
	}
	return nil
}

func (c *Client) retry(ctx context.Context, cl call, out any) error {
	if c.baseErr != nil {
		return c.baseErr
	}
	for attempt := 1; ; attempt++ {
		wait, err := c.attempt(ctx, cl, out)
		if err == nil || !errors.Is(err, ErrTemporary) {
			return err
		}
		if attempt >= c.attempts {
			return fmt.Errorf("gave up after %d attempts: %w", attempt, err)
		}
		if wait < 0 {
			wait = c.backoffDelay(attempt)
		} else if wait > maxRetryAfter {
			return fmt.Errorf("server asks to retry in %s: %w", wait, err)
		}
		c.log.WarnContext(ctx, "openai request failed, retrying",
			"path", cl.path, "attempt", attempt, "delay", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			// The last failure is only context here: wrapping it would make
			// a cancelled call look retryable.
			return fmt.Errorf("waiting to retry after %v: %w", err, ctx.Err())
		case <-t.C:
		}
	}
}

// attempt makes one request. wait is how long the server asked the client
// to back off, or negative when it did not say.
func (c *Client) attempt(ctx context.Context, cl call, out any) (wait time.Duration, err error) {
	if err := ctx.Err(); err != nil {
		return -1, err
	}
	actx, cancel := context.WithTimeout(ctx, cl.timeout)
	defer cancel()
	body, size, ctype, err := cl.body()
	if err != nil {
		return -1, err
	}
	endpoint := c.base + cl.path
	req, err := http.NewRequestWithContext(actx, http.MethodPost, endpoint, body)
	if err != nil {
		body.Close()
		return -1, fmt.Errorf("build request: %w", err)
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Accept", "application/json")
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return -1, transportError(ctx, actx, cl.timeout, err)
	}
	defer resp.Body.Close()

	if resp.StatusCode/100 != 2 {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return retryAfter(resp.Header), classify(parseAPIError(resp.StatusCode, raw, endpoint))
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxResponse)).Decode(out); err != nil {
		var syntax *json.SyntaxError
		var typ *json.UnmarshalTypeError
		if errors.As(err, &syntax) || errors.As(err, &typ) {
			return -1, fmt.Errorf("decode response: %w", err)
		}
		// Anything else is the connection dying mid-body.
		return -1, transportError(ctx, actx, cl.timeout, err)
	}
	return -1, nil
}

// transportError classifies a failure to get an answer: the caller's
// cancellation is final, everything else (the per-request timeout, a
// refused or reset connection) is worth another attempt.
func transportError(ctx, actx context.Context, timeout time.Duration, err error) error {
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(actx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("%w: no response within %s", ErrTemporary, timeout)
	}
	return fmt.Errorf("%w: %w", ErrTemporary, err)
}

// backoffDelay is the exponential delay before attempt+1, with jitter so
// that workers rate limited together do not come back together.
func (c *Client) backoffDelay(attempt int) time.Duration {
	d := min(c.backoff<<(attempt-1), maxBackoff)
	if d <= 0 {
		return 0
	}
	return d/2 + rand.N(d/2+1)
}

// retryAfter reads the server's back-off request: OpenAI's retry-after-ms,
// then the standard Retry-After in seconds or as an HTTP date.
func retryAfter(h http.Header) time.Duration {
	if v := h.Get("Retry-After-Ms"); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms >= 0 {
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	v := h.Get("Retry-After")
	if v == "" {
		return -1
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return -1
}
