package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrate brings the schema up to date on its own connection, before the
// writer takes the file's single writer connection. The DSN is the writer's
// without foreign keys, so the first migration also switches the file to WAL.
func migrate(ctx context.Context, dsn string) error {
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return fmt.Errorf("sqlite store: migrate: %w", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("sqlite store: migrate: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, sub)
	if err != nil {
		return fmt.Errorf("sqlite store: migrate: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("sqlite store: migrate: %w", err)
	}
	return checkForeignKeys(ctx, db)
}

// checkForeignKeys fails when a row refers to a missing parent: migrations
// run with foreign keys off (see migrateDSN), so they are checked here.
func checkForeignKeys(ctx context.Context, db *sql.DB) error {
	rows, err := db.QueryContext(ctx, `PRAGMA foreign_key_check`)
	if err != nil {
		return fmt.Errorf("sqlite store: migrate: foreign key check: %w", err)
	}
	defer rows.Close()
	if rows.Next() {
		var table string
		var rowid sql.NullInt64
		var parent string
		var fk int
		if err := rows.Scan(&table, &rowid, &parent, &fk); err != nil {
			return fmt.Errorf("sqlite store: migrate: foreign key check: %w", err)
		}
		return fmt.Errorf("sqlite store: migrate: a row of %s refers to a missing %s row", table, parent)
	}
	return rows.Err()
}
