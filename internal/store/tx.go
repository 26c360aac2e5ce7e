package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/vindex/vindex/ent"
)

// InTx runs fn in a transaction: committed if fn succeeds, rolled back if it
// fails (or panics).
func InTx(ctx context.Context, db *ent.Client, fn func(tx *ent.Tx) error) (err error) {
	tx, err := db.Tx(ctx)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
	}()
	if err := fn(tx); err != nil {
		return errors.Join(err, rollback(tx))
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

func rollback(tx *ent.Tx) error {
	if err := tx.Rollback(); err != nil {
		return fmt.Errorf("rollback: %w", err)
	}
	return nil
}
