package secretbox

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// maxKeyFileSize bounds what LoadOrCreateFile reads: key files are one line.
const maxKeyFileSize = 64 << 10

// LoadOrCreateFile returns the trimmed content of the key file at path. When
// the file does not exist, it calls generate, writes the value with mode
// 0600 (creating missing parent directories with mode 0700) and returns it.
//
// Creation is atomic: the value is written and synced to a temporary file
// that is then hard-linked into place, which fails if path appeared in the
// meantime. So a reader never sees a half-written key, and when two
// processes race, both end up with the winner's value.
//
// An existing file that group or others may access is refused with an error
// that says how to fix it (chmod 600), not silently used: the master key
// decrypts every webhook secret. Windows has no such mode bits and is not
// checked.
func LoadOrCreateFile(path string, generate func() (string, error)) (string, error) {
	v, _, err := LoadOrCreate(path, generate)
	return v, err
}

// LoadOrCreate is LoadOrCreateFile that also reports whether this call
// created the file: a new key file must be backed up, and the caller says so.
func LoadOrCreate(path string, generate func() (string, error)) (value string, created bool, err error) {
	v, err := readKeyFile(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return v, false, err
	}
	gen, err := generate()
	if err != nil {
		return "", false, fmt.Errorf("generating %s: %w", path, err)
	}
	gen = strings.TrimSpace(gen)
	if gen == "" {
		return "", false, fmt.Errorf("generating %s: generator returned an empty value", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", false, fmt.Errorf("creating directory for key file: %w", err)
	}
	created, err = createExclusive(path, []byte(gen+"\n"))
	if err != nil {
		return "", false, err
	}
	if !created { // another process created it first: use theirs
		v, err := readKeyFile(path)
		return v, false, err
	}
	return gen, true, nil
}

// readKeyFile reads and validates an existing key file. A missing file is
// reported as an error wrapping fs.ErrNotExist.
func readKeyFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		return "", fmt.Errorf("opening key file: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("key file %s: %w", path, err)
	}
	if !info.Mode().IsRegular() {
		return "", fmt.Errorf("key file %s is not a regular file", path)
	}
	if perm := info.Mode().Perm(); runtime.GOOS != "windows" && perm&0o077 != 0 {
		return "", fmt.Errorf("key file %s is accessible by group or others (mode %04o): run `chmod 600 %s`", path, perm, path)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxKeyFileSize+1))
	if err != nil {
		return "", fmt.Errorf("reading key file %s: %w", path, err)
	}
	if len(b) > maxKeyFileSize {
		return "", fmt.Errorf("key file %s is larger than %d bytes", path, maxKeyFileSize)
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return "", fmt.Errorf("key file %s is empty: delete it to generate a new one (only if nothing was encrypted with it)", path)
	}
	return v, nil
}

// linkFile is os.Link; tests replace it to exercise the fallback.
var linkFile = os.Link

// createExclusive writes data to path only if path does not exist yet.
// It reports created=false when path already exists.
func createExclusive(path string, data []byte) (created bool, err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*") // mode 0600
	if err != nil {
		return false, fmt.Errorf("creating key file: %w", err)
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName)
	if err := writeSynced(tmp, data); err != nil {
		return false, fmt.Errorf("writing key file: %w", err)
	}
	err = linkFile(tmpName, path)
	switch {
	case err == nil:
	case errors.Is(err, fs.ErrExist):
		return false, nil
	default:
		// No hard links on this file system: fall back to O_EXCL, which is
		// still exclusive but could leave a partial file after a crash.
		f, oerr := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(oerr, fs.ErrExist) {
			return false, nil
		}
		if oerr != nil {
			return false, fmt.Errorf("creating key file: %w", oerr)
		}
		if err := writeSynced(f, data); err != nil {
			return false, fmt.Errorf("writing key file: %w", err)
		}
	}
	syncDir(dir)
	return true, nil
}

func writeSynced(f *os.File, data []byte) error {
	_, werr := f.Write(data)
	serr := f.Sync()
	cerr := f.Close()
	return errors.Join(werr, serr, cerr)
}

// syncDir makes the new directory entry durable. It is best effort: some
// platforms cannot sync directories, and the file itself is already synced.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}
