package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vindex/vindex/internal/apitest"
)

// nestedQuery returns a query nested exactly depth levels deep (as the depth
// limit counts), by walking User.workspaces → Workspace.members → edges →
// node → Membership.user → User.workspaces … as far as needed. With fragment
// set, the walk starts inside a named fragment.
func nestedQuery(depth int, fragment bool) string {
	walk := []struct{ field, leaf string }{
		{"workspaces", "id"},
		{"members", "totalCount"},
		{"edges", "cursor"},
		{"node", "id"},
		{"user", "id"},
	}
	var b strings.Builder
	for i := range depth - 1 {
		fmt.Fprintf(&b, "%s { ", walk[i%len(walk)].field)
	}
	leaf := "email"
	if depth > 1 {
		leaf = walk[(depth-2)%len(walk)].leaf
	}
	body := b.String() + leaf + strings.Repeat(" }", depth-1)
	if fragment {
		return "query { me { ...deep } } fragment deep on User { " + body + " }"
	}
	return "query { me { " + body + " } }"
}

// aliasedConnections asks for n aliased pages of 100 members each.
func aliasedConnections(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "m%d: members(first: 100) { edges { node { user { id email } } } } ", i)
	}
	return "{ me { workspaces { " + b.String() + "} } }"
}

func gqlBody(t *testing.T, query string, vars map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	require.NoError(t, err)
	return b
}

// requireBadUserInput asserts a clear client error: no 5xx, and every error
// BAD_USER_INPUT with a message; reason and field are checked when given.
func requireBadUserInput(t *testing.T, r apitest.Response, reason, field string) {
	t.Helper()
	require.Less(t, r.Status, 500)
	require.NotEmpty(t, r.Errors)
	for _, e := range r.Errors {
		require.Equal(t, "BAD_USER_INPUT", e.Code(), "error: %+v", e)
		require.NotEmpty(t, e.Message)
		require.NotEqual(t, "internal error", e.Message)
	}
	if reason != "" {
		require.Equal(t, reason, r.Errors[0].Extensions["reason"], "error: %+v", r.Errors[0])
	}
	if field != "" {
		require.Equal(t, field, r.Errors[0].Extensions["field"], "error: %+v", r.Errors[0])
	}
}

func TestRequestLimits(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	u := env.Signup(t, "limits@example.com")
	const (
		parse      = "GRAPHQL_PARSE_FAILED"
		validation = "GRAPHQL_VALIDATION_FAILED"
		depth      = "DEPTH_LIMIT_EXCEEDED"
		complexity = "COMPLEXITY_LIMIT_EXCEEDED"
	)
	scopes := func(v any) []byte {
		return gqlBody(t, `mutation($in: CreateAPITokenInput!) { createAPIToken(input: $in) { secret } }`,
			map[string]any{"in": map[string]any{"workspaceId": u.WorkspaceID, "name": "t", "scopes": v}})
	}
	oversized := gqlBody(t, `{ me { id } }`, map[string]any{"pad": strings.Repeat("x", 2<<20)})
	tests := []struct {
		name   string
		body   []byte
		ok     bool   // the request is within the limits and succeeds
		reason string // extensions.reason, if any
		field  string // extensions.field, if any
	}{
		{name: "body not JSON", body: []byte(`{"query": "{ me { id } }"`)},
		{name: "body a JSON string", body: []byte(`"{ me { id } }"`)},
		{name: "empty body", body: []byte{}},
		{name: "empty query", body: gqlBody(t, "", nil), reason: validation},
		{name: "syntax error", body: gqlBody(t, "{ me { id ", nil), reason: parse},
		{name: "unknown field", body: gqlBody(t, "{ me { nope } }", nil), reason: validation},
		{name: "unknown operation name", body: []byte(`{"query": "query A { me { id } }", "operationName": "B"}`), reason: validation},
		{name: "wrong argument type", body: gqlBody(t, "mutation { createWorkspace(input: {name: 5}) { id } }", nil), reason: validation},
		{name: "integer ID", body: gqlBody(t, "{ workspace(id: 5) { id } }", nil)},
		{name: "wrong variable type", body: gqlBody(t, "query($id: ID!) { workspace(id: $id) { id } }", map[string]any{"id": map[string]any{"a": 1}}), reason: validation},
		{name: "missing variable", body: gqlBody(t, "query($id: ID!) { workspace(id: $id) { id } }", nil), reason: validation},
		{name: "invalid ID literal", body: gqlBody(t, `{ workspace(id: "x") { id } }`, nil)},
		{name: "invalid ID variable", body: gqlBody(t, "query($id: ID!) { workspace(id: $id) { id } }", map[string]any{"id": "x"})},
		{name: "unknown enum literal", body: gqlBody(t, `mutation { createAPIToken(input: {workspaceId: "`+u.WorkspaceID+`", name: "t", scopes: [BOGUS]}) { secret } }`, nil), reason: validation},
		{name: "unknown enum variable", body: scopes([]string{"BOGUS"}), reason: validation},
		{name: "enum variable of the wrong type", body: scopes([]int{1})},
		{name: "depth at the limit", body: gqlBody(t, nestedQuery(12, false), nil), ok: true},
		{name: "depth over the limit", body: gqlBody(t, nestedQuery(13, false), nil), reason: depth},
		{name: "depth over the limit in a fragment", body: gqlBody(t, nestedQuery(13, true), nil), reason: depth},
		{name: "very deep", body: gqlBody(t, nestedQuery(500, false), nil), reason: depth},
		{name: "complexity within the limit", body: gqlBody(t, aliasedConnections(2), nil), ok: true},
		{name: "complexity over the limit", body: gqlBody(t, aliasedConnections(20), nil), reason: complexity},
		{name: "over the token limit", body: gqlBody(t, "{ me { "+strings.Repeat("id ", 10_001)+"} }", nil), reason: parse},
		{name: "body over 1 MiB", body: oversized},
		{name: "first at the maximum", body: gqlBody(t, "{ me { workspaces { members(first: 100) { totalCount } } } }", nil), ok: true},
		{name: "first over the maximum", body: gqlBody(t, "{ me { workspaces { members(first: 1000) { totalCount } } } }", nil), field: "first"},
		{name: "negative last", body: gqlBody(t, "{ me { workspaces { videos(last: -1) { totalCount } } } }", nil), field: "last"},
	}
	t.Run("requests", func(t *testing.T) {
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				start := time.Now()
				r := env.Raw(t, u.Access, "application/json", tc.body)
				require.Less(t, time.Since(start), 10*time.Second, "a refused request must not hang")
				if tc.ok {
					require.Equal(t, http.StatusOK, r.Status)
					require.Empty(t, r.Errors)
					return
				}
				requireBadUserInput(t, r, tc.reason, tc.field)
			})
		}
	})

	// The server is still healthy after all of that.
	resp, err := http.Get(env.URL + "/healthz")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, resp.Body.Close())
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "ok\n", string(body))
	requireMe(t, env, u.Access, u.Email)
}

func TestInternalErrorsHideDetails(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	u := env.Signup(t, "internal@example.com")
	// With the database gone every query fails in a way no client caused.
	require.NoError(t, env.App.Store.Close())

	r := login(t, env, u.Email, signupPassword)
	e := requireOneError(t, r, "INTERNAL")
	require.Equal(t, "internal error", e.Message)
	require.Equal(t, map[string]any{"code": "INTERNAL"}, e.Extensions)

	// An authenticated request fails while loading its viewer: it must not
	// leak the cause either.
	r = env.Do(t, u.Access, `{ me { email } }`, nil)
	require.Len(t, r.Errors, 1)
	for _, leak := range []string{"sql", "closed", "pool", "load viewer", "postgres"} {
		require.NotContains(t, strings.ToLower(r.Errors[0].Message), leak)
	}
}
