package app

import (
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hookd/hookd/internal/config"
	"github.com/hookd/hookd/internal/store/postgres"
)

// serveConfig is `hookd serve` with args and the real defaults.
func serveConfig(t *testing.T, args ...string) *config.Config {
	t.Helper()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg := config.Register(fs, true)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func dirEntries(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// TestPortInUseCreatesNothing: a start that cannot bind --addr fails
// before it creates the data directory, a store or key files.
func TestPortInUseCreatesNothing(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dataDir := filepath.Join(t.TempDir(), "hookd-data")
	err = Serve(context.Background(), serveConfig(t, "--addr", ln.Addr().String(), "--data-dir", dataDir), quietLog(), nil)
	if err == nil || !strings.Contains(err.Error(), "already in use") || !strings.Contains(err.Error(), ln.Addr().String()) {
		t.Fatalf("Serve on a port in use: %v, want an error naming the address as in use", err)
	}
	if _, err := os.Lstat(dataDir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the failed start left %s behind (%v)", dataDir, err)
	}
}

// TestFailedStartRemovesWhatItCreated: a start that fails after it created
// the store and a key file (here: an existing JWT secret file that others
// can read is refused) removes exactly what it created, and keeps what was
// there before.
func TestFailedStartRemovesWhatItCreated(t *testing.T) {
	dataDir := t.TempDir()
	secret := filepath.Join(dataDir, jwtSecretFile)
	if err := os.WriteFile(secret, []byte(strings.Repeat("s", 48)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := Serve(context.Background(), serveConfig(t, "--addr", "127.0.0.1:0", "--data-dir", dataDir), quietLog(), nil)
	if err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("Serve with a readable JWT secret file: %v, want the key file refused", err)
	}
	if got := dirEntries(t, dataDir); !slices.Equal(got, []string{jwtSecretFile}) {
		t.Fatalf("after the failed start the data directory holds %v, want only the %s that was there", got, jwtSecretFile)
	}
}

// TestFreshPathsRemoveOnlyWhatWasMissing: files found at the start stay,
// and so does a directory that gained a file from someone else.
func TestFreshPathsRemoveOnlyWhatWasMissing(t *testing.T) {
	parent := t.TempDir()
	dataDir := filepath.Join(parent, "data")
	cfg := serveConfig(t, "--data-dir", dataDir)
	fresh := noteMissing(cfg)
	if len(fresh) == 0 || fresh[0] != dataDir {
		t.Fatalf("noteMissing = %v, want the missing directory first", fresh)
	}
	if err := os.Mkdir(dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{dbFile, masterKeyFile, "someone-elses"} {
		if err := os.WriteFile(filepath.Join(dataDir, name), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := fresh.remove(); err != nil {
		t.Fatal(err)
	}
	if got := dirEntries(t, dataDir); !slices.Equal(got, []string{"someone-elses"}) {
		t.Fatalf("after remove the directory holds %v, want only the file this start did not create", got)
	}

	// A directory that existed keeps its store.
	if err := os.WriteFile(filepath.Join(dataDir, dbFile), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	fresh = noteMissing(cfg)
	if slices.Contains(fresh, dataDir) || slices.Contains(fresh, filepath.Join(dataDir, dbFile)) {
		t.Fatalf("noteMissing = %v lists paths that exist", fresh)
	}
	if noteMissing(serveConfig(t, "--database", "postgres://h/db")) != nil {
		t.Fatal("on PostgreSQL a start creates nothing on disk, so nothing is noted")
	}
}

// TestServeReportsEveryProblemAtOnce: on PostgreSQL the missing keys and
// every other bad flag are reported together, before any connection (the
// database here does not exist).
func TestServeReportsEveryProblemAtOnce(t *testing.T) {
	cfg := serveConfig(t, "--database", "postgres://postgres@127.0.0.1:1/nowhere", "--workers", "0",
		"--log-level", "loud", "--retry-schedule", "5x", "--allow-cidr", "10.0.0.0/33")
	err := Serve(context.Background(), cfg, quietLog(), nil)
	if err == nil {
		t.Fatal("Serve accepted a bad configuration")
	}
	for _, want := range []string{"6 problems", "--master-key", "--jwt-secret", "--workers", "--log-level", "--retry-schedule", "--allow-cidr"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "connect") {
		t.Errorf("Serve tried to connect before reporting the flags:\n%v", err)
	}
}

// TestKeyFlagsAreCheckedBeforeConnecting: a malformed master key or a short
// JWT secret is a flag mistake, reported without touching the database.
func TestKeyFlagsAreCheckedBeforeConnecting(t *testing.T) {
	cfg := serveConfig(t, "--database", "postgres://postgres@127.0.0.1:1/nowhere", "--master-key", "c2hvcnQ=", "--jwt-secret", "short")
	err := Serve(context.Background(), cfg, quietLog(), nil)
	if err == nil || !strings.Contains(err.Error(), "--master-key: master key decodes to 5 bytes") ||
		!strings.Contains(err.Error(), "--jwt-secret is 5 bytes") || strings.Contains(err.Error(), "connect") {
		t.Fatalf("Serve with malformed keys: %v", err)
	}
}

// TestPostgresConnectionFailureIsOneLine: a closed port reads "cannot
// connect to PostgreSQL at host:port: connection refused", once, without
// the password or the migration library's words.
func TestPostgresConnectionFailureIsOneLine(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // a port nobody listens on
	cfg := serveConfig(t, "--database", "postgres://hookd:sekrit@"+addr+"/hookd")
	_, err = OpenStore(context.Background(), cfg)
	want := "cannot connect to PostgreSQL at " + addr + ": connection refused"
	if err == nil || err.Error() != want {
		t.Fatalf("OpenStore on a closed port: %v\nwant: %s", err, want)
	}
}

// TestPostgresServerRefusalIsOneLine: what the server says (here: no such
// database) is the reason given.
func TestPostgresServerRefusalIsOneLine(t *testing.T) {
	base := os.Getenv(postgres.TestDatabaseEnv)
	if base == "" {
		t.Skip(postgres.TestDatabaseEnv + " is not set: PostgreSQL variant skipped")
	}
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	cfg := config.Register(fs, false)
	cfg.Database = replaceDatabase(t, base, "hookd_no_such_database")
	_, err := OpenStore(context.Background(), cfg)
	if err == nil || !strings.HasPrefix(err.Error(), "cannot connect to PostgreSQL at ") ||
		!strings.HasSuffix(err.Error(), `: database "hookd_no_such_database" does not exist (SQLSTATE 3D000)`) {
		t.Fatalf("OpenStore on a missing database: %v", err)
	}
}

func replaceDatabase(t *testing.T, base, name string) string {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}
