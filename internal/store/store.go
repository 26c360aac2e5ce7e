// Package store opens vindex's PostgreSQL database: the ent client for the
// relational model and the pgx pool for raw SQL (vector tables, LISTEN/NOTIFY),
// and applies the versioned migrations.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"

	entsql "entgo.io/ent/dialect/sql"
	"github.com/golang-migrate/migrate/v4"
	_ "github.com/golang-migrate/migrate/v4/database/pgx/v5" // pgx5:// driver
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/vindex/vindex/ent"
	_ "github.com/vindex/vindex/ent/runtime" // registers privacy policies and hooks
	"github.com/vindex/vindex/migrations"
)

// Store is the open database.
type Store struct {
	Ent  *ent.Client
	Pool *pgxpool.Pool
	db   *sql.DB
}

// Open connects to databaseURL. It does not migrate.
func Open(ctx context.Context, databaseURL string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	db := stdlib.OpenDBFromPool(pool)
	client := ent.NewClient(ent.Driver(entsql.OpenDB("postgres", db)))
	return &Store{Ent: client, Pool: pool, db: db}, nil
}

// Close releases all connections.
func (s *Store) Close() error {
	err := s.Ent.Close()
	s.Pool.Close()
	return err
}

// Ping checks that the database answers (readiness).
func (s *Store) Ping(ctx context.Context) error { return s.Pool.Ping(ctx) }

// Migrate applies every pending migration. golang-migrate holds a PostgreSQL
// advisory lock while it runs, so several vindex instances starting together
// migrate once.
func Migrate(ctx context.Context, databaseURL string) error {
	src, err := iofs.New(migrations.FS, ".")
	if err != nil {
		return fmt.Errorf("read migrations: %w", err)
	}
	m, err := migrate.NewWithSourceInstance("iofs", src, migrateURL(databaseURL))
	if err != nil {
		return fmt.Errorf("open migrations: %w", err)
	}
	defer m.Close()
	done := make(chan error, 1)
	go func() { done <- m.Up() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		m.GracefulStop <- true
		err = <-done
	}
	if err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return fmt.Errorf("apply migrations: %w", err)
	}
	return nil
}

// Version reports the applied migration version and whether it is dirty.
func Version(databaseURL string) (uint, bool, error) {
	src, err := iofs.New(migrations.FS, ".")
	if err != nil {
		return 0, false, fmt.Errorf("read migrations: %w", err)
	}
	m, err := migrate.NewWithSourceInstance("iofs", src, migrateURL(databaseURL))
	if err != nil {
		return 0, false, fmt.Errorf("open migrations: %w", err)
	}
	defer m.Close()
	v, dirty, err := m.Version()
	if errors.Is(err, migrate.ErrNilVersion) {
		return 0, false, nil
	}
	return v, dirty, err
}

// migrateURL turns a postgres:// URL into golang-migrate's pgx5:// form.
func migrateURL(databaseURL string) string {
	u, err := url.Parse(databaseURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return strings.Replace(databaseURL, "postgres", "pgx5", 1)
	}
	u.Scheme = "pgx5"
	return u.String()
}
