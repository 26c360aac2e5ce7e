package auth

import (
	"fmt"

	"github.com/alexedwards/argon2id"
)

// passwordParams are argon2id's RFC 9106 "second recommended" settings scaled
// to a 2-core server: ~40 ms and 64 MiB per hash.
var passwordParams = &argon2id.Params{Memory: 64 * 1024, Iterations: 1, Parallelism: 2, SaltLength: 16, KeyLength: 32}

// dummyHash is verified against when an email is unknown, so a login for a
// missing account takes as long as one for an existing account.
var dummyHash = mustHash("vindex-timing-equaliser")

func hashPassword(pw string) (string, error) {
	h, err := argon2id.CreateHash(pw, passwordParams)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return h, nil
}

func checkPassword(pw, hash string) bool {
	ok, err := argon2id.ComparePasswordAndHash(pw, hash)
	return err == nil && ok
}

func mustHash(pw string) string {
	h, err := hashPassword(pw)
	if err != nil {
		panic(err)
	}
	return h
}
