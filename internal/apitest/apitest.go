// Package apitest runs a real vindex API over a fresh PostgreSQL database
// for tests, and speaks GraphQL to it over HTTP the way clients do.
package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vindex/vindex/ent/privacy"
	"github.com/vindex/vindex/internal/blob"
	"github.com/vindex/vindex/internal/config"
	"github.com/vindex/vindex/internal/ingest"
	"github.com/vindex/vindex/internal/models/openai/openaitest"
	"github.com/vindex/vindex/internal/server"
	"github.com/vindex/vindex/internal/store"
	"github.com/vindex/vindex/internal/testdb"
)

// Main is TestMain for packages that use New: one PostgreSQL for the test
// process, with a migrated template database.
func Main(m *testing.M) { testdb.Main(m, store.Migrate) }

// Env is one running API with its own database.
type Env struct {
	URL         string
	App         *server.App
	Config      config.Config
	DatabaseURL string
	Blobs       blob.Store
}

// Option changes how New sets the API up.
type Option func(*config.Config)

// WithRunner runs the real ingest pipeline: an embedded Dagu whose steps
// run a freshly built vindex binary against this test's database.
func WithRunner() Option {
	return func(c *config.Config) { c.DaguURL = "" }
}

// WithConfig adjusts the configuration, e.g. to inject faults.
func WithConfig(f func(*config.Config)) Option { return f }

// DoneStatus is how a step of a finished ingest ends when the test turned no
// models on: the model steps skip, the others succeed.
func DoneStatus(step string) string {
	if slices.Contains(ingest.ModelSteps, step) {
		return "SKIPPED"
	}
	return "SUCCEEDED"
}

// WithHosted points every modality at an in-process OpenAI-compatible
// server (openaitest), with a Jina-style image model for frames.
func WithHosted(srv *openaitest.Server) Option {
	return func(c *config.Config) {
		c.Models.Transcriber, c.Models.TextEmbedder, c.Models.ImageEmbedder = "openai", "openai", "openai"
		c.Models.OpenAIBaseURL, c.Models.OpenAIAPIKey = srv.URL(), srv.Key
		c.Models.OpenAIImageModel = "jina-clip-v2"
	}
}

// noRunner is an address where no runner listens: APIs that do not ingest
// need none, and uploads made there stay QUEUED.
const noRunner = "http://127.0.0.1:9"

// New starts an API on a brand-new migrated database.
func New(t testing.TB, opts ...Option) *Env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	cfg, err := config.FromEnv(func(string) (string, bool) { return "", false })
	require.NoError(t, err)
	cfg.DataDir = t.TempDir()
	cfg.JWTSecret = "apitest-signing-key-apitest-signing-key"
	cfg.DaguURL = noRunner
	// The model steps skip unless a test configures engines (see
	// DoneStatus), and weights come from an empty mirror, so no test
	// reaches for the internet.
	cfg.Models.Transcriber, cfg.Models.TextEmbedder, cfg.Models.ImageEmbedder = "none", "none", "none"
	cfg.ModelMirror = t.TempDir()
	cfg.GraphiQLDir = filepath.Join(RepoRoot(), ".deps", "graphiql")
	for _, o := range opts {
		o(&cfg)
	}
	dbURL := testdb.New(t)
	st, err := store.Open(ctx, dbURL)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	level := slog.LevelError
	if os.Getenv("VINDEX_TEST_LOG") != "" {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	blobs, err := server.OpenBlobs(ctx, cfg)
	require.NoError(t, err)
	if cfg.DaguURL == "" {
		cfg.Bin = Binary(t)
		cfg.DaguBin = DaguBin(t)
	}
	runnerClient, stopRunner, _, err := server.StartRunner(ctx, cfg, dbURL, log)
	require.NoError(t, err)
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer scancel()
		stopRunner(sctx)
	})
	app, err := server.New(cfg, st, server.Deps{Blobs: blobs, Runner: runnerClient}, log)
	require.NoError(t, err)
	app.Start(ctx)
	srv := httptest.NewServer(app.Handler)
	t.Cleanup(srv.Close)
	return &Env{URL: srv.URL, App: app, Config: cfg, DatabaseURL: dbURL, Blobs: blobs}
}

// System is a context that bypasses privacy rules, for arranging and
// checking database state directly in tests.
func System() context.Context {
	return privacy.DecisionContext(context.Background(), privacy.Allow)
}

// Error is one GraphQL error.
type Error struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

// Code returns extensions.code.
func (e Error) Code() string { s, _ := e.Extensions["code"].(string); return s }

// Response is a GraphQL response with its HTTP status.
type Response struct {
	Status int
	Data   json.RawMessage `json:"data"`
	Errors []Error         `json:"errors"`
}

// Codes lists the errors' codes.
func (r Response) Codes() []string {
	out := make([]string, len(r.Errors))
	for i, e := range r.Errors {
		out[i] = e.Code()
	}
	return out
}

// Decode unmarshals data into v; it fails the test if there were errors.
func (r Response) Decode(t testing.TB, v any) {
	t.Helper()
	require.Empty(t, r.Errors, "unexpected GraphQL errors")
	require.NoError(t, json.Unmarshal(r.Data, v))
}

// Do sends a GraphQL request with an optional bearer token.
func (e *Env) Do(t testing.TB, token, query string, vars map[string]any) Response {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	require.NoError(t, err)
	return e.Raw(t, token, "application/json", body)
}

// Raw posts a body as is, for malformed requests.
func (e *Env) Raw(t testing.TB, token, contentType string, body []byte) Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.URL+"/graphql", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", contentType)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	out := Response{Status: resp.StatusCode}
	require.NoError(t, json.Unmarshal(raw, &out), "response is not GraphQL JSON: %s", raw)
	return out
}

// User is a signed-up user and its personal workspace.
type User struct {
	ID          string
	Email       string
	Access      string
	Refresh     string
	WorkspaceID string // personal workspace
}

// Signup creates a user through the API.
func (e *Env) Signup(t testing.TB, email string) User {
	t.Helper()
	r := e.Do(t, "", `mutation($in: SignupInput!) { signup(input: $in) {
		accessToken refreshToken user { id email workspaces { id role } } } }`,
		map[string]any{"in": map[string]any{"email": email, "password": "correct horse battery", "name": "Test " + email}})
	var out struct {
		Signup struct {
			AccessToken, RefreshToken string
			User                      struct {
				ID, Email  string
				Workspaces []struct{ ID, Role string }
			}
		}
	}
	r.Decode(t, &out)
	require.Len(t, out.Signup.User.Workspaces, 1)
	return User{
		ID: out.Signup.User.ID, Email: email,
		Access: out.Signup.AccessToken, Refresh: out.Signup.RefreshToken,
		WorkspaceID: out.Signup.User.Workspaces[0].ID,
	}
}

// CreateWorkspace creates a workspace owned by the token's user.
func (e *Env) CreateWorkspace(t testing.TB, token, name string) string {
	t.Helper()
	var out struct{ CreateWorkspace struct{ ID string } }
	e.Do(t, token, `mutation($n: String!) { createWorkspace(input: {name: $n}) { id } }`, map[string]any{"n": name}).Decode(t, &out)
	return out.CreateWorkspace.ID
}

// AddMember adds a user to a workspace with a role and returns the membership id.
func (e *Env) AddMember(t testing.TB, token, workspaceID, email, role string) string {
	t.Helper()
	var out struct{ AddMember struct{ ID string } }
	e.Do(t, token, `mutation($in: AddMemberInput!) { addMember(input: $in) { id } }`,
		map[string]any{"in": map[string]any{"workspaceId": workspaceID, "email": email, "role": role}}).Decode(t, &out)
	return out.AddMember.ID
}

// CreateAPIToken creates a token and returns its id and secret.
func (e *Env) CreateAPIToken(t testing.TB, token, workspaceID string, scopes ...string) (id, secret string) {
	t.Helper()
	var out struct {
		CreateAPIToken struct {
			Token  struct{ ID string }
			Secret string
		}
	}
	e.Do(t, token, `mutation($in: CreateAPITokenInput!) { createAPIToken(input: $in) { token { id } secret } }`,
		map[string]any{"in": map[string]any{"workspaceId": workspaceID, "name": fmt.Sprintf("token %v", scopes), "scopes": scopes}}).Decode(t, &out)
	return out.CreateAPIToken.Token.ID, out.CreateAPIToken.Secret
}
