package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestDatabaseEnv names the variable that switches PostgreSQL tests on.
const TestDatabaseEnv = "HOOKD_TEST_DATABASE_URL"

// TestSchema returns Options for a fresh schema of $HOOKD_TEST_DATABASE_URL,
// dropped when the test ends, skipping the test when the variable is unset.
// Open it more than once to play several processes sharing one database.
func TestSchema(t testing.TB) Options {
	t.Helper()
	url := os.Getenv(TestDatabaseEnv)
	if url == "" {
		t.Skipf("PostgreSQL tests skipped: set %s (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)", TestDatabaseEnv)
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	schema := "hookd_test_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Errorf("drop test schema: %v", err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("drop test schema: %v", err)
		}
	})
	return Options{URL: url, Schema: schema}
}

// TestStore opens a store in a fresh schema of $HOOKD_TEST_DATABASE_URL
// (closed and dropped when the test ends), skipping the test when the
// variable is unset.
func TestStore(t testing.TB) *Store {
	t.Helper()
	return OpenTest(t, TestSchema(t))
}

// OpenTest opens opt (from TestSchema) and closes it when the test ends.
func OpenTest(t testing.TB, opt Options) *Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := Open(ctx, opt)
	if err != nil {
		t.Fatalf("open postgres store: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}
