package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"strings"
)

const (
	apiTokenPrefix     = "vdx_"
	refreshTokenPrefix = "vrt_"
	// displayLen is how much of an API token is stored in clear and shown in
	// lists: "vdx_" plus 8 characters (40 bits), enough to find the row.
	displayLen = len(apiTokenPrefix) + 8
)

var encoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// newSecret returns prefix + 256 random bits in lowercase base32.
func newSecret(prefix string) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return prefix + strings.ToLower(encoding.EncodeToString(b))
}

func hashSecret(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func sameHash(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }
