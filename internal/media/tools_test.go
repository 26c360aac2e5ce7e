package media_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vindex/vindex/internal/media"
)

func TestCheckTools(t *testing.T) {
	t.Parallel()
	require.NoError(t, media.CheckTools(t.Context()))
}
