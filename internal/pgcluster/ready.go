package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// waitReady waits until the server reports "ready" in postmaster.pid, then connects and
// creates the vindex database if needed. Watching the pid file instead of retrying
// connections keeps "the database system is starting up" noise out of the log.
func (c *Cluster) waitReady(ctx context.Context) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	lastNote := time.Now()
	for {
		pf, ok, err := readPidFile(c.dataDir)
		if err != nil {
			return err
		}
		if ok && pf.pid == c.proc.proc.Pid && pf.status == "ready" {
			err := c.ensureDatabase(ctx, superuser)
			var pgErr *pgconn.PgError
			if err == nil || errors.As(err, &pgErr) && pgErr.Code != "57P03" { // cannot_connect_now
				return err
			}
		}
		if time.Since(lastNote) > 10*time.Second {
			// After a crash the server replays WAL first; say so rather than look hung.
			c.logger.InfoContext(ctx, "waiting for postgres to accept connections", "status", pf.status)
			lastNote = time.Now()
		}
		select {
		case <-c.proc.done:
			return fmt.Errorf("postgres exited during startup: %v", c.proc.err)
		case <-ctx.Done():
			return fmt.Errorf("wait for postgres to accept connections: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

// ensureDatabase creates database name unless it exists, connecting to the always-present
// "postgres" database to do so.
func (c *Cluster) ensureDatabase(ctx context.Context, name string) error {
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return fmt.Errorf("look up database %s: %w", name, err)
	}
	if exists {
		return nil
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	c.logger.InfoContext(ctx, "created database", "database", name)
	return nil
}
