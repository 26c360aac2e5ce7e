// Package migrations embeds vindex's versioned SQL migrations (golang-migrate
// format). Schema changes to ent/schema get a new migration from
// `make migration NAME=…`, which diffs the schema against these files;
// hand-written ones (extensions, partitioned vector tables) sit beside them.
package migrations

import "embed"

// FS holds the migration files.
//
//go:embed *.sql
var FS embed.FS
