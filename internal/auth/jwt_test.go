package auth

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/vindex/vindex/ent/schema/pulid"
)

var testKey = []byte("jwt-test-signing-key-of-more-than-32-bytes")

// testSessions returns Sessions whose clock is stopped at now.
func testSessions(t *testing.T, key []byte, now time.Time) *Sessions {
	t.Helper()
	s, err := NewSessions(key, 15*time.Minute)
	require.NoError(t, err)
	s.now = func() time.Time { return now }
	return s
}

// claimsAt are the claims vindex issues for user at now, edited by edits.
func claimsAt(user pulid.ID, now time.Time, edits ...func(jwt.MapClaims)) jwt.MapClaims {
	c := jwt.MapClaims{
		"iss": issuer,
		"sub": string(user),
		"aud": []string{audience},
		"exp": now.Add(15 * time.Minute).Unix(),
		"nbf": now.Unix(),
		"iat": now.Unix(),
		"jti": string(pulid.New("jti")),
	}
	for _, edit := range edits {
		edit(c)
	}
	return c
}

func set(name string, v any) func(jwt.MapClaims) {
	return func(c jwt.MapClaims) { c[name] = v }
}

func del(name string) func(jwt.MapClaims) {
	return func(c jwt.MapClaims) { delete(c, name) }
}

func sign(t *testing.T, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(method, claims).SignedString(key)
	require.NoError(t, err)
	return tok
}

// tamperSignature changes one character in the middle of the signature (the
// last one may only carry padding bits, which a lenient decoder ignores).
func tamperSignature(tok string) string {
	i := strings.LastIndexByte(tok, '.') + (len(tok)-strings.LastIndexByte(tok, '.'))/2
	c := byte('A')
	if tok[i] == 'A' {
		c = 'B'
	}
	return tok[:i] + string(c) + tok[i+1:]
}

// swapPayload keeps tok's header and signature but replaces its claims.
func swapPayload(t *testing.T, tok string, claims jwt.MapClaims) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	require.Len(t, parts, 3)
	b, err := json.Marshal(claims)
	require.NoError(t, err)
	parts[1] = base64.RawURLEncoding.EncodeToString(b)
	return strings.Join(parts, ".")
}

func TestSessionsVerify(t *testing.T) {
	t.Parallel()
	now := time.Now().Truncate(time.Second)
	s := testSessions(t, testKey, now)
	user := pulid.New("usr")
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	issued, exp, err := s.Issue(user)
	require.NoError(t, err)
	require.Equal(t, now.Add(15*time.Minute), exp)
	valid := sign(t, jwt.SigningMethodHS256, testKey, claimsAt(user, now))
	hs256 := func(edits ...func(jwt.MapClaims)) string {
		return sign(t, jwt.SigningMethodHS256, testKey, claimsAt(user, now, edits...))
	}

	tests := []struct {
		name  string
		token string
		ok    bool
	}{
		{name: "issued by Issue", token: issued, ok: true},
		{name: "hand-made valid token", token: valid, ok: true},
		{name: "expired within leeway", token: hs256(set("exp", now.Add(-2*time.Second).Unix())), ok: true},
		{name: "not yet valid within leeway", token: hs256(set("nbf", now.Add(2*time.Second).Unix())), ok: true},

		{name: "tampered signature", token: tamperSignature(valid)},
		{name: "tampered payload", token: swapPayload(t, valid, claimsAt(pulid.New("usr"), now))},
		{name: "alg none", token: sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claimsAt(user, now))},
		{name: "HS512 with the same key", token: sign(t, jwt.SigningMethodHS512, testKey, claimsAt(user, now))},
		{name: "HS384 with the same key", token: sign(t, jwt.SigningMethodHS384, testKey, claimsAt(user, now))},
		{name: "RS256", token: sign(t, jwt.SigningMethodRS256, rsaKey, claimsAt(user, now))},
		{name: "HS256 with another key", token: sign(t, jwt.SigningMethodHS256, []byte(strings.Repeat("k", 40)), claimsAt(user, now))},
		{name: "expired", token: hs256(set("exp", now.Add(-time.Minute).Unix()))},
		{name: "not yet valid", token: hs256(set("nbf", now.Add(time.Minute).Unix()))},
		{name: "issued in the future", token: hs256(set("iat", now.Add(time.Minute).Unix()))},
		{name: "wrong audience", token: hs256(set("aud", []string{"another-api"}))},
		{name: "no audience", token: hs256(del("aud"))},
		{name: "wrong issuer", token: hs256(set("iss", "not-vindex"))},
		{name: "no issuer", token: hs256(del("iss"))},
		{name: "missing exp", token: hs256(del("exp"))},
		{name: "missing nbf", token: hs256(del("nbf"))},
		{name: "missing iat", token: hs256(del("iat"))},
		{name: "missing nbf and iat", token: hs256(del("nbf"), del("iat"))},
		{name: "subject of another type", token: hs256(set("sub", string(pulid.New("wsp"))))},
		{name: "subject not an id", token: hs256(set("sub", "admin"))},
		{name: "no subject", token: hs256(del("sub"))},
		{name: "garbage", token: "this is not a token"},
		{name: "three garbage segments", token: "bm90.anNvbg.c2ln"},
		{name: "empty", token: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := s.Verify(tc.token)
			if tc.ok {
				require.NoError(t, err)
				require.Equal(t, user, got)
				return
			}
			require.Error(t, err)
			require.Empty(t, got)
		})
	}
}

func TestSessionsVerifyAcrossKeys(t *testing.T) {
	t.Parallel()
	now := time.Now()
	a := testSessions(t, testKey, now)
	b := testSessions(t, []byte(strings.Repeat("b", 32)), now)
	tok, _, err := a.Issue(pulid.New("usr"))
	require.NoError(t, err)
	_, err = b.Verify(tok)
	require.Error(t, err, "a token signed with another key must not verify")

	later := testSessions(t, testKey, now.Add(16*time.Minute))
	_, err = later.Verify(tok)
	require.Error(t, err, "an issued token must expire after its TTL")
}

func TestNewSessionsRejectsShortKey(t *testing.T) {
	t.Parallel()
	_, err := NewSessions([]byte(strings.Repeat("k", 31)), time.Minute)
	require.Error(t, err)
}

func TestLoadOrCreateKeyGeneratesOnceAndReuses(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data") // does not exist yet
	first, err := LoadOrCreateKey("", dir)
	require.NoError(t, err)
	require.Len(t, first, 32)

	fi, err := os.Stat(filepath.Join(dir, "jwt.key"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	again, err := LoadOrCreateKey("", dir)
	require.NoError(t, err)
	require.Equal(t, first, again, "the key must survive restarts")

	other, err := LoadOrCreateKey("", t.TempDir())
	require.NoError(t, err)
	require.NotEqual(t, first, other, "each data dir gets its own random key")
}

func TestLoadOrCreateKeyConcurrentFirstStart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const n = 16
	keys := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { keys[i], errs[i] = LoadOrCreateKey("", dir) })
	}
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i])
		require.Equal(t, keys[0], keys[i], "racing first starts must agree on one key")
	}
}

func TestLoadOrCreateKeyConfiguredAndCorrupt(t *testing.T) {
	t.Parallel()
	key32 := []byte("0123456789abcdef0123456789abcdef")
	raw40 := "a-configured-secret-that-is-40-bytes-long"
	tests := []struct {
		name       string
		configured string
		keyFile    string // written to dataDir/jwt.key first, if set
		want       []byte // nil: an error is expected
	}{
		{name: "raw secret", configured: raw40, want: []byte(raw40)},
		{name: "base64 secret", configured: base64.StdEncoding.EncodeToString(key32), want: key32},
		{name: "configured wins over the key file", configured: raw40, keyFile: base64.StdEncoding.EncodeToString(key32), want: []byte(raw40)},
		{name: "short secret", configured: "too-short"},
		{name: "31 bytes", configured: strings.Repeat("s", 31)},
		{name: "base64 of a short key", configured: base64.StdEncoding.EncodeToString(key32[:16])},
		{name: "key file not base64", keyFile: "not base64 at all!"},
		{name: "key file too short", keyFile: base64.StdEncoding.EncodeToString(key32[:16])},
		{name: "key file empty", keyFile: "\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := filepath.Join(dir, "jwt.key")
			if tc.keyFile != "" {
				require.NoError(t, os.WriteFile(path, []byte(tc.keyFile), 0o600))
			}
			got, err := LoadOrCreateKey(tc.configured, dir)
			if tc.want == nil {
				require.Error(t, err)
				require.Nil(t, got)
			} else {
				require.NoError(t, err)
				require.Equal(t, tc.want, got)
			}
			if tc.keyFile == "" {
				require.NoFileExists(t, path, "nothing is generated when a secret is configured or refused")
			}
		})
	}
}
