// Package app wires hookd together from its configuration: it opens the
// store, loads or generates key material, and runs the API and the delivery
// engine (Serve). The command line (cmd/hookd) and the demo use it.
package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hookd/hookd/internal/config"
	"github.com/hookd/hookd/internal/masterkey"
	"github.com/hookd/hookd/internal/secretbox"
	"github.com/hookd/hookd/internal/store"
	"github.com/hookd/hookd/internal/store/postgres"
	"github.com/hookd/hookd/internal/store/sqlite"
)

const (
	dbFile            = "hookd.db"
	masterKeyFile     = "master.key"
	nextMasterKeyFile = "master.key.next" // a rotation's new key until it is done
	jwtSecretFile     = "jwt-secret"
)

// OpenStore opens (and migrates) the configured store for the
// administration commands: on the embedded store they may run beside a
// serving process.
func OpenStore(ctx context.Context, cfg *config.Config) (store.Store, error) {
	return openStore(ctx, cfg, false)
}

// OpenServingStore opens the store for `hookd serve`: on the embedded store
// it holds the data directory's lock, so a second server is refused with a
// clear error (and this one owns every lease it finds).
func OpenServingStore(ctx context.Context, cfg *config.Config) (store.Store, error) {
	return openStore(ctx, cfg, true)
}

func openStore(ctx context.Context, cfg *config.Config, serving bool) (store.Store, error) {
	if cfg.IsPostgres() {
		return postgres.Open(ctx, postgres.Options{URL: cfg.Database})
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating --data-dir: %w", err)
	}
	return sqlite.Open(ctx, sqlite.Options{Path: filepath.Join(cfg.DataDir, dbFile), Exclusive: serving})
}

// Keys is the key material of a running hookd.
type Keys struct {
	Box       *secretbox.Box
	JWTSecret []byte // nil: HS256 tokens are not accepted
}

// LoadKeys resolves --master-key, --previous-master-key and --jwt-secret.
// On the embedded store missing ones are generated into --data-dir (mode
// 0600); on PostgreSQL every process must share them, so the master key is
// required. The store records the fingerprints of the master keys its
// secrets may be sealed under, and a process lacking one of them refuses to
// start (masterkey.Check).
func LoadKeys(ctx context.Context, cfg *config.Config, st store.Store) (Keys, error) {
	var keys Keys
	box, err := MasterBox(cfg)
	if err != nil {
		return keys, err
	}
	if _, err := masterkey.Check(ctx, st, box); err != nil {
		if errors.Is(err, store.ErrKeyMismatch) && interruptedRotation(cfg) {
			err = fmt.Errorf("%w. A master-key rotation of this data directory was interrupted (%s exists): run `hookd keys rotate-master` again to finish it", err, nextMasterKeyFile)
		}
		return keys, err
	}
	keys.Box = box
	keys.JWTSecret, err = LoadJWTSecret(cfg)
	return keys, err
}

// MasterBox is the configured master key, sealing, with the previous keys
// that only open. Without --master-key the embedded store uses (and on
// first use creates) <data-dir>/master.key.
func MasterBox(cfg *config.Config) (*secretbox.Box, error) {
	rawKey := cfg.MasterKey
	if rawKey == "" {
		if cfg.IsPostgres() {
			return nil, errors.New("--master-key (or HOOKD_MASTER_KEY) is required with PostgreSQL: every process must share it; generate one with: head -c 32 /dev/urandom | base64")
		}
		var err error
		if rawKey, err = secretbox.LoadOrCreateFile(filepath.Join(cfg.DataDir, masterKeyFile), secretbox.GenerateKey); err != nil {
			return nil, fmt.Errorf("master key file: %w", err)
		}
	}
	key, err := secretbox.ParseKey(rawKey)
	if err != nil {
		return nil, fmt.Errorf("--master-key: %w", err)
	}
	var previous [][]byte
	for i, raw := range cfg.PreviousMasterKey {
		k, err := secretbox.ParseKey(raw)
		if err != nil {
			return nil, fmt.Errorf("--previous-master-key (number %d): %w", i+1, err)
		}
		previous = append(previous, k)
	}
	return secretbox.New(key, previous...)
}

// interruptedRotation reports a master-key rotation of the embedded store's
// key file that did not finish (see RotateMaster).
func interruptedRotation(cfg *config.Config) bool {
	if cfg.IsPostgres() || cfg.MasterKey != "" {
		return false
	}
	_, err := os.Stat(filepath.Join(cfg.DataDir, nextMasterKeyFile))
	return err == nil
}

// LoadJWTSecret resolves the HS256 secret: --jwt-secret, else none when
// --jwks-url is set (asymmetric tokens only), else (embedded store only) a
// secret generated into --data-dir on first use.
func LoadJWTSecret(cfg *config.Config) ([]byte, error) {
	switch {
	case cfg.JWTSecret != "":
		return []byte(cfg.JWTSecret), nil
	case cfg.JWKSURL != "":
		return nil, nil
	case cfg.IsPostgres():
		return nil, errors.New("--jwt-secret (or --jwks-url) is required with PostgreSQL: every process must share it")
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating --data-dir: %w", err)
	}
	secret, err := secretbox.LoadOrCreateFile(filepath.Join(cfg.DataDir, jwtSecretFile), func() (string, error) {
		return secretbox.GenerateSecret("", 48)
	})
	if err != nil {
		return nil, fmt.Errorf("JWT secret file: %w", err)
	}
	return []byte(secret), nil
}
