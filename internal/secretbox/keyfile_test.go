package secretbox

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestLoadOrCreateFileCreatesWithMode0600(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "nested")
	path := filepath.Join(dir, "master.key")
	calls := 0
	gen := func() (string, error) { calls++; return GenerateKey() }

	v, err := LoadOrCreateFile(path, gen)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseKey(v); err != nil {
		t.Fatalf("created value is not a key: %v", err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Fatalf("file mode %04o, want 0600", perm)
	}
	dinfo, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := dinfo.Mode().Perm(); perm&0o077 != 0 {
		t.Fatalf("created directory mode %04o, want no group/other access", perm)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("directory holds %d entries, want only the key file (temporary file left behind?)", len(entries))
	}

	again, err := LoadOrCreateFile(path, gen)
	if err != nil {
		t.Fatal(err)
	}
	if again != v || calls != 1 {
		t.Fatalf("second call: value %q (want %q), generator called %d times (want 1)", again, v, calls)
	}
}

func TestLoadOrCreateFileTrimsExistingContent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jwt.secret")
	if err := os.WriteFile(path, []byte("  my-secret-value \r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	v, err := LoadOrCreateFile(path, func() (string, error) {
		t.Fatal("generator called for an existing file")
		return "", nil
	})
	if err != nil || v != "my-secret-value" {
		t.Fatalf("got %q, %v", v, err)
	}
}

func TestLoadOrCreateFileRefusesLooseModes(t *testing.T) {
	for _, mode := range []os.FileMode{0o640, 0o604, 0o644, 0o660} {
		path := filepath.Join(t.TempDir(), "master.key")
		if err := os.WriteFile(path, []byte("k\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, err := LoadOrCreateFile(path, GenerateKey)
		if err == nil {
			t.Fatalf("mode %04o accepted", mode)
		}
		if !strings.Contains(err.Error(), "chmod 600") || strings.Contains(err.Error(), "k\n") {
			t.Fatalf("mode %04o: unhelpful error %q", mode, err)
		}
	}
}

func TestLoadOrCreateFileRefusesEmptyAndNonRegular(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.key")
	if err := os.WriteFile(empty, []byte(" \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateFile(empty, GenerateKey); err == nil {
		t.Fatal("empty file accepted")
	}
	sub := filepath.Join(dir, "adir")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateFile(sub, GenerateKey); err == nil {
		t.Fatal("directory accepted as a key file")
	}
}

func TestLoadOrCreateFileGeneratorErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k")
	boom := errors.New("boom")
	if _, err := LoadOrCreateFile(path, func() (string, error) { return "", boom }); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	if _, err := LoadOrCreateFile(path, func() (string, error) { return "  ", nil }); err == nil {
		t.Fatal("empty generated value accepted")
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a failed generation left a file behind: %v", err)
	}
}

// Racing creators all return the same value: the first link wins, the
// others read it.
func TestLoadOrCreateFileConcurrentCreatorsAgree(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	const n = 8
	vals := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { vals[i], errs[i] = LoadOrCreateFile(path, GenerateKey) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if vals[i] != vals[0] {
			t.Fatalf("creator %d got %q, creator 0 got %q", i, vals[i], vals[0])
		}
	}
	onDisk, err := os.ReadFile(path)
	if err != nil || strings.TrimSpace(string(onDisk)) != vals[0] {
		t.Fatalf("file holds %q (%v), callers got %q", onDisk, err, vals[0])
	}
}

func TestCreateExclusiveDoesNotOverwrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k")
	if err := os.WriteFile(path, []byte("first\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	created, err := createExclusive(path, []byte("second\n"))
	if err != nil || created {
		t.Fatalf("created=%v err=%v, want false, nil", created, err)
	}
	b, _ := os.ReadFile(path)
	if string(b) != "first\n" {
		t.Fatalf("file overwritten: %q", b)
	}
}

// On a file system without hard links, creation falls back to O_EXCL and
// keeps the same guarantees: mode 0600, no overwrite.
func TestCreateExclusiveFallbackWithoutHardLinks(t *testing.T) {
	orig := linkFile
	t.Cleanup(func() { linkFile = orig })
	linkFile = func(string, string) error { return errors.New("operation not permitted") }

	path := filepath.Join(t.TempDir(), "k")
	v, err := LoadOrCreateFile(path, func() (string, error) { return "value", nil })
	if err != nil || v != "value" {
		t.Fatalf("got %q, %v", v, err)
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("stat: %v, mode %v", err, info.Mode())
	}
	created, err := createExclusive(path, []byte("other\n"))
	if err != nil || created {
		t.Fatalf("second create: created=%v err=%v, want false, nil", created, err)
	}
	if got, _ := LoadOrCreateFile(path, GenerateKey); got != "value" {
		t.Fatalf("file overwritten: %q", got)
	}
}

// LoadOrCreate tells the one call that created the file: the first call of
// one process, and exactly one of racing creators.
func TestLoadOrCreateReportsCreation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jwt-secret")
	if _, created, err := LoadOrCreate(path, GenerateKey); err != nil || !created {
		t.Fatalf("first call: created=%v, %v; want true", created, err)
	}
	if _, created, err := LoadOrCreate(path, GenerateKey); err != nil || created {
		t.Fatalf("second call: created=%v, %v; want false", created, err)
	}

	racy := filepath.Join(t.TempDir(), "master.key")
	const n = 8
	created := make([]bool, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			var err error
			if _, created[i], err = LoadOrCreate(racy, GenerateKey); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	count := 0
	for _, c := range created {
		if c {
			count++
		}
	}
	if count != 1 {
		t.Fatalf("%d of %d racing callers say they created the file, want 1", count, n)
	}
}
