//go:build !unix

package sqlite

import (
	"errors"
	"os"
)

func lockFile(string) (*os.File, error) {
	return nil, errors.New("sqlite store: exclusive use of the data directory needs a Unix file lock (flock)")
}

func unlockFile(f *os.File) error { return nil }
