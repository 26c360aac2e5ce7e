package media

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCheckToolsNamesWhatIsMissing(t *testing.T) {
	t.Parallel()
	err := checkTools(t.Context(), []requirement{
		{"vindex-no-such-tool", []string{"-version"}, nil, ""},
		{"vindex-no-such-tool", []string{"-filters"}, []string{" x "}, "filter"},
		{"sh", []string{"-c", "echo ' select '; echo ' scale '"}, []string{" select ", " zoompan "}, "filter"},
		{"sh", []string{"-c", "exit 2"}, nil, ""},
	})
	require.ErrorIs(t, err, ErrMissingTool)
	require.Equal(t, "media tool missing (install with `make deps`): vindex-no-such-tool is not in PATH; "+
		`sh lacks the filter "zoompan"; sh does not run: sh: exit status 2`, err.Error())
}
