package testdb_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/vindex/vindex/internal/testdb"
)

func TestMain(m *testing.M) {
	testdb.Main(m, nil)
}

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

func TestNewGivesIndependentDatabases(t *testing.T) {
	t.Parallel()
	a, b := connect(t, testdb.New(t)), connect(t, testdb.New(t))

	_, err := a.Exec(t.Context(), "CREATE TABLE only_in_a (v vector(3)); INSERT INTO only_in_a VALUES ('[1,2,3]')")
	require.NoError(t, err, "the template has pgvector")
	var n int
	require.NoError(t, b.QueryRow(t.Context(), "SELECT count(*) FROM pg_class WHERE relname = 'only_in_a'").Scan(&n))
	require.Zero(t, n)
}

func TestParallelNew(t *testing.T) {
	t.Parallel()
	for i := range 8 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			var one int
			require.NoError(t, connect(t, testdb.New(t)).QueryRow(t.Context(), "SELECT 1").Scan(&one))
			require.Equal(t, 1, one)
		})
	}
}

func TestDatabaseDroppedAfterTest(t *testing.T) {
	t.Parallel()
	var name string
	t.Run("uses", func(t *testing.T) {
		require.NoError(t, connect(t, testdb.New(t)).QueryRow(t.Context(), "SELECT current_database()").Scan(&name))
	})
	var exists bool
	require.NoError(t, connect(t, testdb.Server()).QueryRow(t.Context(),
		"SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists))
	require.False(t, exists)
}
