package auth

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/vindex/vindex/ent/schema/pulid"
)

const (
	issuer   = "vindex"
	audience = "vindex-api"
)

// signingMethod is the only algorithm vindex issues and accepts; the parser's
// allow-list rejects "none", RS256-with-HMAC-key confusion and the rest.
var signingMethod = jwt.SigningMethodHS256

// Sessions issues and verifies short-lived access tokens.
type Sessions struct {
	key []byte
	ttl time.Duration
	now func() time.Time
}

// NewSessions returns a JWT signer/verifier with a key of at least 32 bytes.
func NewSessions(key []byte, ttl time.Duration) (*Sessions, error) {
	if len(key) < 32 {
		return nil, errors.New("jwt signing key must be at least 32 bytes")
	}
	return &Sessions{key: key, ttl: ttl, now: time.Now}, nil
}

// Issue returns a signed access token for a user and its expiry.
func (s *Sessions) Issue(userID pulid.ID) (string, time.Time, error) {
	now := s.now()
	exp := now.Add(s.ttl)
	claims := jwt.RegisteredClaims{
		Issuer:    issuer,
		Subject:   string(userID),
		Audience:  jwt.ClaimStrings{audience},
		ExpiresAt: jwt.NewNumericDate(exp),
		NotBefore: jwt.NewNumericDate(now),
		IssuedAt:  jwt.NewNumericDate(now),
		ID:        string(pulid.New("jti")),
	}
	tok, err := jwt.NewWithClaims(signingMethod, claims).SignedString(s.key)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign access token: %w", err)
	}
	return tok, exp, nil
}

// Verify checks signature, algorithm, issuer, audience and every time claim,
// and returns the user the token was issued to.
func (s *Sessions) Verify(token string) (pulid.ID, error) {
	var claims jwt.RegisteredClaims
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{signingMethod.Alg()}),
		jwt.WithIssuer(issuer),
		jwt.WithAudience(audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(5*time.Second),
		jwt.WithTimeFunc(s.now),
	)
	if _, err := parser.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return s.key, nil }); err != nil {
		return "", fmt.Errorf("verify access token: %w", err)
	}
	if claims.NotBefore == nil || claims.IssuedAt == nil {
		return "", errors.New("verify access token: nbf and iat are required")
	}
	id, err := pulid.Parse(claims.Subject)
	if err != nil || id.Prefix() != "usr" {
		return "", errors.New("verify access token: bad subject")
	}
	return id, nil
}

// LoadOrCreateKey returns the configured signing key, or the one kept in
// dataDir, generating it on first start so sessions survive restarts.
func LoadOrCreateKey(configured, dataDir string) ([]byte, error) {
	if configured != "" {
		if k, err := base64.StdEncoding.DecodeString(configured); err == nil && len(k) >= 32 {
			return k, nil
		}
		if len(configured) < 32 {
			return nil, errors.New("VINDEX_JWT_SECRET must be at least 32 bytes (or base64 of them)")
		}
		return []byte(configured), nil
	}
	path := filepath.Join(dataDir, "jwt.key")
	if b, err := os.ReadFile(path); err == nil {
		k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(k) < 32 {
			return nil, fmt.Errorf("%s is corrupt: delete it to sign everyone out and start over", path)
		}
		return k, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read signing key: %w", err)
	}
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	// The key is written to a temporary file and published with link(2),
	// which fails if jwt.key exists: if two instances race on first start,
	// one key wins and the loser reads it back, never a half-written file.
	f, err := os.CreateTemp(dataDir, "jwt.key.tmp-*") // mode 0600
	if err != nil {
		return nil, fmt.Errorf("write signing key: %w", err)
	}
	defer os.Remove(f.Name())
	_, err = f.WriteString(base64.StdEncoding.EncodeToString(k) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("write signing key: %w", err)
	}
	if err := os.Link(f.Name(), path); errors.Is(err, os.ErrExist) {
		return LoadOrCreateKey("", dataDir)
	} else if err != nil {
		return nil, fmt.Errorf("write signing key: %w", err)
	}
	return k, nil
}
