package pulid

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNewParsesBackAndOrdersByTime(t *testing.T) {
	t.Parallel()
	a, b := New("vid"), New("vid")
	require.Equal(t, "vid", a.Prefix())
	got, err := Parse(string(a))
	require.NoError(t, err)
	require.Equal(t, a, got)
	require.Less(t, string(a), string(b), "UUIDv7 ids sort by creation")
}

func TestParseRejects(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		"", "vid", "vid_", "_0193a1b2c3d4e5f60718293a4b5c6d7e",
		"VID_0193a1b2c3d4e5f60718293a4b5c6d7e",   // prefix must be lowercase
		"vid_0193A1B2C3D4E5F60718293A4B5C6D7E",   // hex must be lowercase
		"vid_0193a1b2c3d4e5f60718293a4b5c6d7",    // short
		"vid_0193a1b2c3d4e5f60718293a4b5c6d7e0",  // long
		"vid_0193a1b2c3d4e5f60718293a4b5c6d7g",   // not hex
		"vid_0193a1b2'; drop table videos; --xx", // not an identifier
		"toolongprefix_0193a1b2c3d4e5f60718293a4b5c6d7e",
	} {
		_, err := Parse(s)
		require.ErrorIs(t, err, ErrInvalid, s)
	}
}
