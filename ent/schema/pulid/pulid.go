// Package pulid implements vindex's identifiers: a short type prefix and a
// time-ordered UUIDv7 in lowercase hex ("vid_0193…"). The prefix makes every ID
// globally unique across types, which is what Relay's node(id) needs, and the
// alphabet ([a-z0-9_]) makes IDs safe in SQL identifiers, file names and Dagu
// run ids without any escaping.
package pulid

import (
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/google/uuid"
)

// ID is a prefixed identifier such as "wsp_0193a1b2c3d4e5f60718293a4b5c6d7e".
type ID string

// ErrInvalid is returned for a string that is not a well-formed ID.
var ErrInvalid = errors.New("invalid id")

const hexLen = 32

// New returns a new ID with the given prefix.
func New(prefix string) ID {
	u := uuid.Must(uuid.NewV7())
	return ID(prefix + "_" + hex.EncodeToString(u[:]))
}

// Parse validates s and returns it as an ID.
func Parse(s string) (ID, error) {
	prefix, rest, ok := strings.Cut(s, "_")
	if !ok || prefix == "" || len(prefix) > 8 || len(rest) != hexLen {
		return "", fmt.Errorf("%w: %q", ErrInvalid, s)
	}
	for _, r := range prefix {
		if r < 'a' || r > 'z' {
			return "", fmt.Errorf("%w: %q", ErrInvalid, s)
		}
	}
	if _, err := hex.DecodeString(rest); err != nil || strings.ToLower(rest) != rest {
		return "", fmt.Errorf("%w: %q", ErrInvalid, s)
	}
	return ID(s), nil
}

// Prefix returns the type prefix of the ID ("vid" for a video).
func (id ID) Prefix() string {
	p, _, _ := strings.Cut(string(id), "_")
	return p
}

// String implements fmt.Stringer.
func (id ID) String() string { return string(id) }

// Scan implements sql.Scanner.
func (id *ID) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*id = ""
	case string:
		*id = ID(v)
	case []byte:
		*id = ID(v)
	default:
		return fmt.Errorf("pulid: cannot scan %T", src)
	}
	return nil
}

// Value implements driver.Valuer.
func (id ID) Value() (driver.Value, error) { return string(id), nil }

// UnmarshalGQL implements graphql.Unmarshaler; a malformed ID is a client error.
func (id *ID) UnmarshalGQL(v any) error {
	var s string
	switch v := v.(type) {
	case string:
		s = v
	case ID: // ent's generated node(id) resolver passes the ID it already parsed
		s = string(v)
	default:
		return fmt.Errorf("%w: must be a string", ErrInvalid)
	}
	parsed, err := Parse(s)
	if err != nil {
		return err
	}
	*id = parsed
	return nil
}

// MarshalGQL implements graphql.Marshaler.
func (id ID) MarshalGQL(w io.Writer) { _, _ = io.WriteString(w, strconv.Quote(string(id))) }
