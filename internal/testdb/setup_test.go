package testdb

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSetupReportsPrepareError(t *testing.T) {
	t.Parallel()
	var gotURL string
	_, err := setup(t.Context(), func(_ context.Context, databaseURL string) error {
		gotURL = databaseURL
		return errors.New("migration 3 failed")
	})
	require.ErrorContains(t, err, "prepare template database: migration 3 failed")
	require.Contains(t, gotURL, "/vindex_tpl_")
}

func TestWithDatabase(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"postgres://vindex@/postgres?host=/tmp/x/run&sslmode=disable", "postgres://vindex@/db1?host=/tmp/x/run&sslmode=disable"},
		{"postgresql://u:p@localhost:5433/other?sslmode=disable", "postgresql://u:p@localhost:5433/db1?sslmode=disable"},
		{"host=/tmp/x user=vindex dbname=postgres", "host=/tmp/x user=vindex dbname=postgres dbname=db1"},
	} {
		got, err := withDatabase(tc.in, "db1")
		require.NoError(t, err)
		require.Equal(t, tc.want, got)
	}
}
