// Package testdb gives tests their own PostgreSQL databases: one server per test process
// (vindex's own pgcluster in a temp dir, or an existing server named by
// VINDEX_TEST_DATABASE_URL), one template database built once per process, and a fresh clone
// of it for every test that asks.
//
// Use it from TestMain:
//
//	func TestMain(m *testing.M) { testdb.Main(m, migrations.Apply) }
//
//	func TestSomething(t *testing.T) {
//		t.Parallel()
//		pool, err := pgxpool.New(t.Context(), testdb.New(t))
//		...
//	}
package testdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
)

// envURL names an existing server to use instead of starting one. It is read here rather
// than passed in because TestMain has no configuration of its own to pass.
const envURL = "VINDEX_TEST_DATABASE_URL"

// setupTimeout bounds initdb, server start and the template build (migrations).
const setupTimeout = 3 * time.Minute

// Set by Main before m.Run and only read afterwards, so tests see them without locking.
var (
	serverURL string
	template  string
	admin     *pgxpool.Pool
	cloneSQL  string
)

// Main is called from TestMain of every package whose tests need PostgreSQL.
// If VINDEX_TEST_DATABASE_URL is set it uses that server (a superuser URL), else it starts a
// pgcluster (Fast) in a temp dir for this test process and stops it after m.Run().
// It then builds a template database once by calling prepare(ctx, url) (e.g. running
// migrations), and returns m.Run()'s code via os.Exit. A nil prepare gives a template with
// just the pgvector extension.
func Main(m *testing.M, prepare func(ctx context.Context, databaseURL string) error) {
	os.Exit(run(m, prepare))
}

func run(m *testing.M, prepare func(ctx context.Context, databaseURL string) error) int {
	flag.Parse() // testing.Verbose needs the flags, which m.Run would parse only later
	begin := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	teardown, err := setup(ctx, prepare)
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "testdb: %v\n", err)
		return 1
	}
	if testing.Verbose() {
		fmt.Fprintf(os.Stderr, "testdb: server and template database ready in %s\n", time.Since(begin).Round(time.Millisecond))
	}
	code := m.Run()
	if err := teardown(); err != nil {
		fmt.Fprintf(os.Stderr, "testdb: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// New returns the URL of a brand new database cloned from the template, dropped in
// t.Cleanup. Names carry the pid and a random suffix, so parallel tests and test processes
// sharing one server never collide.
func New(t testing.TB) string {
	t.Helper()
	if admin == nil {
		t.Fatal("testdb.New: call testdb.Main from TestMain first")
	}
	name := uniqueName("vindex_test")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := admin.Exec(ctx, fmt.Sprintf(cloneSQL, pgx.Identifier{name}.Sanitize(), pgx.Identifier{template}.Sanitize()))
	require.NoError(t, err, "create test database")
	t.Cleanup(func() {
		// t.Context is already cancelled when cleanups run.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := dropDatabase(ctx, admin, name); err != nil {
			t.Errorf("testdb: %v", err)
		}
	})
	u, err := withDatabase(serverURL, name)
	require.NoError(t, err)
	return u
}

// Server returns the admin (superuser) URL of the server in use, for tests that create roles
// or databases themselves; "" before Main.
func Server() string {
	return serverURL
}

func uniqueName(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s_%d_%s", prefix, os.Getpid(), hex.EncodeToString(b))
}

// withDatabase points a connection string, URL or keyword/value form, at another database.
func withDatabase(dsn, database string) (string, error) {
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		return dsn + " dbname=" + database, nil // in keyword/value form the last key wins
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "", fmt.Errorf("parse database URL: %w", err)
	}
	u.Path, u.RawPath = "/"+database, ""
	return u.String(), nil
}

func dropDatabase(ctx context.Context, pool *pgxpool.Pool, name string) error {
	if _, err := pool.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}
