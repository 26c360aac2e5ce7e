package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vindex/vindex/ent/schema/pulid"
	"github.com/vindex/vindex/internal/apitest"
)

// signupPassword is the password apitest.Env.Signup gives every user.
const signupPassword = "correct horse battery"

const sessionFields = `accessToken refreshToken user { id email }`

type session struct {
	AccessToken, RefreshToken string
	User                      struct{ ID, Email string }
}

// send posts a GraphQL request to env from the local address from ("" for
// the default, 127.0.0.1) with a verbatim Authorization header ("" for none).
func send(t *testing.T, env *apitest.Env, from, authorization, query string, vars map[string]any) (apitest.Response, http.Header) {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, env.URL+"/graphql", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	if from != "" {
		dialer.LocalAddr = &net.TCPAddr{IP: net.ParseIP(from)}
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DialContext: dialer.DialContext}}
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	out := apitest.Response{Status: resp.StatusCode}
	require.NoError(t, json.Unmarshal(raw, &out), "response is not GraphQL JSON: %s", raw)
	return out, resp.Header
}

func loginFrom(t *testing.T, env *apitest.Env, from, email, password string) apitest.Response {
	t.Helper()
	r, _ := send(t, env, from, "", `mutation($in: LoginInput!) { login(input: $in) { `+sessionFields+` } }`,
		map[string]any{"in": map[string]any{"email": email, "password": password}})
	return r
}

func login(t *testing.T, env *apitest.Env, email, password string) apitest.Response {
	t.Helper()
	return loginFrom(t, env, "", email, password)
}

func refreshSession(t *testing.T, env *apitest.Env, refreshToken string) apitest.Response {
	t.Helper()
	return env.Do(t, "", `mutation($t: String!) { refreshSession(refreshToken: $t) { `+sessionFields+` } }`,
		map[string]any{"t": refreshToken})
}

// signup sends a signup mutation from the local address from ("" for the default).
func signup(t *testing.T, env *apitest.Env, from string, in map[string]any) apitest.Response {
	t.Helper()
	r, _ := send(t, env, from, "", `mutation($in: SignupInput!) { signup(input: $in) { `+sessionFields+` } }`, map[string]any{"in": in})
	return r
}

func logout(t *testing.T, env *apitest.Env, refreshToken string) bool {
	t.Helper()
	var out struct{ Logout bool }
	env.Do(t, "", `mutation($t: String!) { logout(refreshToken: $t) }`, map[string]any{"t": refreshToken}).Decode(t, &out)
	return out.Logout
}

// sessionOf decodes the AuthPayload a mutation (login, signup,
// refreshSession) returned.
func sessionOf(t *testing.T, r apitest.Response, mutation string) session {
	t.Helper()
	var out map[string]session
	r.Decode(t, &out)
	s := out[mutation]
	require.NotEmpty(t, s.AccessToken)
	require.NotEmpty(t, s.RefreshToken)
	return s
}

// requireOneError asserts that r failed with exactly one error of code.
func requireOneError(t *testing.T, r apitest.Response, code string) apitest.Error {
	t.Helper()
	require.Len(t, r.Errors, 1, "errors: %+v", r.Errors)
	require.Equal(t, code, r.Errors[0].Code(), "error: %+v", r.Errors[0])
	require.NotEmpty(t, r.Errors[0].Message)
	return r.Errors[0]
}

// requireMe asserts that access authenticates as email.
func requireMe(t *testing.T, env *apitest.Env, access, email string) {
	t.Helper()
	var out struct{ Me struct{ Email string } }
	env.Do(t, access, `{ me { email } }`, nil).Decode(t, &out)
	require.Equal(t, email, out.Me.Email)
}

func TestRefreshSessionRotates(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	u := env.Signup(t, "rotate@example.com")
	first := sessionOf(t, login(t, env, u.Email, signupPassword), "login")
	requireMe(t, env, first.AccessToken, u.Email)

	second := sessionOf(t, refreshSession(t, env, first.RefreshToken), "refreshSession")
	require.NotEqual(t, first.RefreshToken, second.RefreshToken)
	require.NotEqual(t, first.AccessToken, second.AccessToken)
	require.Equal(t, u.ID, second.User.ID)
	requireMe(t, env, second.AccessToken, u.Email)

	// The new refresh token rotates in turn; the one it replaced is spent.
	third := sessionOf(t, refreshSession(t, env, second.RefreshToken), "refreshSession")
	requireMe(t, env, third.AccessToken, u.Email)
	requireOneError(t, refreshSession(t, env, second.RefreshToken), "UNAUTHENTICATED")
}

func TestRefreshTokenReuseRevokesTheSignIn(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	u := env.Signup(t, "reuse@example.com")
	stolen := sessionOf(t, login(t, env, u.Email, signupPassword), "login")
	rotated := sessionOf(t, refreshSession(t, env, stolen.RefreshToken), "refreshSession")

	requireOneError(t, refreshSession(t, env, stolen.RefreshToken), "UNAUTHENTICATED")
	requireOneError(t, refreshSession(t, env, rotated.RefreshToken), "UNAUTHENTICATED")
	require.False(t, logout(t, env, rotated.RefreshToken), "the sign-in is already revoked")

	// Only that sign-in ends: the one from signup lives on.
	sessionOf(t, refreshSession(t, env, u.Refresh), "refreshSession")
}

func TestLogout(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	u := env.Signup(t, "logout@example.com")
	require.True(t, logout(t, env, u.Refresh))
	require.False(t, logout(t, env, u.Refresh))
	requireOneError(t, refreshSession(t, env, u.Refresh), "UNAUTHENTICATED")

	// Logging out with a rotated-away token ends the whole sign-in.
	s := sessionOf(t, login(t, env, u.Email, signupPassword), "login")
	next := sessionOf(t, refreshSession(t, env, s.RefreshToken), "refreshSession")
	require.True(t, logout(t, env, s.RefreshToken))
	requireOneError(t, refreshSession(t, env, next.RefreshToken), "UNAUTHENTICATED")

	for _, token := range []string{"", "vrt_unknown", "garbage"} {
		require.False(t, logout(t, env, token), "token %q", token)
		requireOneError(t, refreshSession(t, env, token), "UNAUTHENTICATED")
	}
}

func TestSignupDuplicateEmail(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	env.Signup(t, "dup@example.com")
	for _, email := range []string{"dup@example.com", "DUP@Example.COM", "  Dup@example.com "} {
		t.Run(email, func(t *testing.T) {
			t.Parallel()
			r := signup(t, env, "", map[string]any{"email": email, "password": signupPassword})
			requireOneError(t, r, "CONFLICT")
			require.Nil(t, jsonNull(r.Data))
		})
	}
}

// jsonNull returns nil for an absent or null JSON value, else the value.
func jsonNull(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	return raw
}

func TestSignupRejectsBadInput(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	tests := []struct {
		name, email, password, userName, field string
	}{
		{name: "not an email", email: "not-an-email", field: "email"},
		{name: "empty email", email: "", field: "email"},
		{name: "no dot in domain", email: "alice@localhost", field: "email"},
		{name: "display name form", email: "Alice <alice@example.com>", field: "email"},
		{name: "two addresses", email: "a@example.com, b@example.com", field: "email"},
		{name: "nul byte in email", email: "alice\x00@example.com", field: "email"},
		{name: "over-long email", email: strings.Repeat("a", 250) + "@example.com", field: "email"},
		{name: "short password", email: "alice@example.com", password: "1234567", field: "password"},
		{name: "seven runes in fourteen bytes", email: "alice@example.com", password: "ééééééé", field: "password"},
		{name: "over-long password", email: "alice@example.com", password: strings.Repeat("p", 1025), field: "password"},
		{name: "over-long name", email: "alice@example.com", userName: strings.Repeat("n", 201), field: "name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			password := tc.password
			if password == "" {
				password = signupPassword
			}
			r := signup(t, env, "", map[string]any{"email": tc.email, "password": password, "name": tc.userName})
			e := requireOneError(t, r, "BAD_USER_INPUT")
			require.Equal(t, tc.field, e.Extensions["field"], "error: %+v", e)
		})
	}
	// None of them made an account.
	requireOneError(t, login(t, env, "alice@example.com", signupPassword), "UNAUTHENTICATED")
}

func TestLoginFailuresLookAlike(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	u := env.Signup(t, "alike@example.com")
	sessionOf(t, login(t, env, "  ALIKE@Example.com ", signupPassword), "login")

	want := requireOneError(t, login(t, env, u.Email, "wrong password"), "UNAUTHENTICATED")
	tests := []struct{ name, email, password string }{
		{name: "unknown email", email: "nobody@example.com", password: signupPassword},
		{name: "empty password", email: u.Email, password: ""},
		{name: "over-long password", email: u.Email, password: strings.Repeat("p", 2000)},
		{name: "not an email", email: "nobody", password: signupPassword},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := requireOneError(t, login(t, env, tc.email, tc.password), "UNAUTHENTICATED")
			require.Equal(t, want.Message, got.Message)
			require.Equal(t, want.Extensions, got.Extensions)
		})
	}
}

// forge splices the payload of token b into token a, keeping a's signature.
func forge(t *testing.T, a, b string) string {
	t.Helper()
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	require.Len(t, pa, 3)
	require.Len(t, pb, 3)
	return strings.Join([]string{pa[0], pb[1], pa[2]}, ".")
}

func TestBadAuthorizationHeader(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	u := env.Signup(t, "header@example.com")
	other := env.Signup(t, "other-header@example.com")
	tests := []struct {
		name, header string
		ok           bool
	}{
		{name: "valid bearer", header: "Bearer " + u.Access, ok: true},
		{name: "lowercase scheme", header: "bearer " + u.Access, ok: true},
		{name: "garbage bearer", header: "Bearer garbage"},
		{name: "tampered JWT", header: "Bearer " + forge(t, other.Access, u.Access)},
		{name: "basic", header: "Basic x"},
		{name: "basic with credentials", header: "Basic dXNlcjpwYXNz"},
		{name: "no scheme", header: u.Access},
		{name: "empty bearer", header: "Bearer  "},
		{name: "refresh token as bearer", header: "Bearer " + u.Refresh},
		{name: "unknown API token", header: "Bearer vdx_abcdefghijklmnopqrstuvwxyz"},
		{name: "short API token", header: "Bearer vdx_"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, h := send(t, env, "", tc.header, `{ me { email } }`, nil)
			if tc.ok {
				require.Equal(t, http.StatusOK, r.Status)
				var out struct{ Me struct{ Email string } }
				r.Decode(t, &out)
				require.Equal(t, u.Email, out.Me.Email)
				return
			}
			require.Equal(t, http.StatusUnauthorized, r.Status)
			require.Contains(t, h.Get("WWW-Authenticate"), "Bearer")
			requireOneError(t, r, "UNAUTHENTICATED")
			require.Nil(t, jsonNull(r.Data))
		})
	}
}

func TestAccessTokenOfDeletedUser(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	u := env.Signup(t, "deleted@example.com")
	requireMe(t, env, u.Access, u.Email)
	require.NoError(t, env.App.Store.Ent.User.DeleteOneID(pulid.ID(u.ID)).Exec(apitest.System()))

	r := env.Do(t, u.Access, `{ me { email } }`, nil)
	require.Equal(t, http.StatusUnauthorized, r.Status)
	requireOneError(t, r, "UNAUTHENTICATED")
	requireOneError(t, refreshSession(t, env, u.Refresh), "UNAUTHENTICATED")
}

// retryAfter returns a RATE_LIMITED error's extensions.retryAfterSeconds.
func retryAfter(t *testing.T, r apitest.Response) float64 {
	t.Helper()
	e := requireOneError(t, r, "RATE_LIMITED")
	secs, ok := e.Extensions["retryAfterSeconds"].(float64)
	require.True(t, ok, "retryAfterSeconds missing: %+v", e)
	return secs
}

func TestLoginRateLimitPerAccount(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	victim := env.Signup(t, "victim@example.com")
	bystander := env.Signup(t, "bystander@example.com")
	for i := range 5 {
		requireOneError(t, login(t, env, victim.Email, fmt.Sprintf("guess %d", i)), "UNAUTHENTICATED")
	}
	// 2 signups + 5 failures + the 3 attempts below stay within the client's
	// budget of 20, so only the account's limit can apply.
	secs := retryAfter(t, login(t, env, victim.Email, signupPassword))
	require.Greater(t, secs, 0.0)
	require.LessOrEqual(t, secs, 60.0)
	retryAfter(t, login(t, env, " VICTIM@example.com", signupPassword))

	sessionOf(t, login(t, env, bystander.Email, signupPassword), "login")
}

func TestLoginRateLimitPerClient(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	const elsewhere = "127.0.0.2" // all of 127/8 is loopback on Linux
	sessionOf(t, signup(t, env, elsewhere, map[string]any{"email": "elsewhere@example.com", "password": signupPassword}), "signup")

	// Each attempt is a new email, so no account limit is involved. The
	// budget refills one attempt per 3 s, so allow a few extra attempts on a
	// slow machine before the limit must have hit.
	limited := false
	for i := 0; i < 30 && !limited; i++ {
		r := login(t, env, fmt.Sprintf("spray-%d@example.com", i), "some password")
		if i < 20 {
			requireOneError(t, r, "UNAUTHENTICATED")
			continue
		}
		limited = len(r.Errors) == 1 && r.Errors[0].Code() == "RATE_LIMITED"
		if limited {
			require.Greater(t, retryAfter(t, r), 0.0)
		}
	}
	require.True(t, limited, "more than 20 rapid attempts from one client must be rate limited")

	// Signups share the client's budget; other clients are unaffected.
	retryAfter(t, signup(t, env, "", map[string]any{"email": "late@example.com", "password": signupPassword}))
	sessionOf(t, loginFrom(t, env, elsewhere, "elsewhere@example.com", signupPassword), "login")
}
