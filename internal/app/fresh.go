package app

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/hookd/hookd/internal/config"
)

// freshPaths are the paths of an embedded store's data directory that a
// start found missing. A start that fails after creating some of them
// removes exactly those, and so leaves the directory as it found it: no
// empty store, no generated keys that nothing was encrypted with, nothing
// that was there before touched.
type freshPaths []string

// noteMissing records which of the files `hookd serve` may create in
// --data-dir do not exist yet (the directory first, so that it is removed
// last). On PostgreSQL a start creates nothing on disk.
func noteMissing(cfg *config.Config) freshPaths {
	if cfg.IsPostgres() {
		return nil
	}
	db := filepath.Join(cfg.DataDir, dbFile)
	candidates := []string{
		cfg.DataDir,
		db, db + "-wal", db + "-shm", db + "-journal", db + ".lock",
		filepath.Join(cfg.DataDir, masterKeyFile), filepath.Join(cfg.DataDir, jwtSecretFile),
	}
	var missing freshPaths
	for _, p := range candidates {
		if _, err := os.Lstat(p); errors.Is(err, fs.ErrNotExist) {
			missing = append(missing, p)
		}
	}
	return missing
}

// remove deletes what was missing and now exists, last noted first. The
// directory is removed only when empty: a file someone else put there in
// the meantime keeps it.
func (f freshPaths) remove() error {
	var errs []error
	for i := len(f) - 1; i >= 0; i-- {
		err := os.Remove(f[i])
		if err != nil && !errors.Is(err, fs.ErrNotExist) && !isNotEmpty(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// isNotEmpty: rmdir of a directory that still has entries (POSIX allows
// either error number).
func isNotEmpty(err error) bool {
	return errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, syscall.EEXIST)
}
