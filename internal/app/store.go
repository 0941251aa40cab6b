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
	"github.com/hookd/hookd/internal/secretbox"
	"github.com/hookd/hookd/internal/store"
	"github.com/hookd/hookd/internal/store/postgres"
	"github.com/hookd/hookd/internal/store/sqlite"
)

const (
	dbFile         = "hookd.db"
	masterKeyFile  = "master.key"
	jwtSecretFile  = "jwt-secret"
	fingerprintKey = "master_key_fingerprint"
)

// OpenStore opens (and migrates) the configured store for the
// administration commands: on the embedded store they may run beside a
// serving process.
func OpenStore(ctx context.Context, cfg *config.Config) (store.Store, error) {
	return openStore(ctx, cfg, false, nil)
}

// OpenServingStore opens the store for `hookd serve`: on the embedded store
// it holds the data directory's lock, so a second server is refused with a
// clear error (and this one owns every lease it finds). obs (may be nil) is
// told of the store's commit rounds and new deliveries (metrics).
func OpenServingStore(ctx context.Context, cfg *config.Config, obs store.Observer) (store.Store, error) {
	return openStore(ctx, cfg, true, obs)
}

func openStore(ctx context.Context, cfg *config.Config, serving bool, obs store.Observer) (store.Store, error) {
	if cfg.IsPostgres() {
		return postgres.Open(ctx, postgres.Options{URL: cfg.Database, Observer: obs})
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating --data-dir: %w", err)
	}
	return sqlite.Open(ctx, sqlite.Options{Path: filepath.Join(cfg.DataDir, dbFile), Exclusive: serving, Observer: obs})
}

// Keys is the key material of a running hookd.
type Keys struct {
	Box       *secretbox.Box
	JWTSecret []byte // nil: HS256 tokens are not accepted
	// Generated lists the key files this call created (embedded store):
	// they must be backed up with the data directory.
	Generated []string
}

// LoadKeys resolves --master-key and --jwt-secret. On the embedded store
// missing ones are generated into --data-dir (mode 0600); on PostgreSQL every
// process must share them, so the master key is required, and the store's
// recorded fingerprint must match it.
func LoadKeys(ctx context.Context, cfg *config.Config, st store.Store) (Keys, error) {
	var keys Keys
	rawKey := cfg.MasterKey
	if rawKey == "" {
		if cfg.IsPostgres() {
			return keys, errors.New("--master-key (or HOOKD_MASTER_KEY) is required with PostgreSQL: every process must share it; generate one with: head -c 32 /dev/urandom | base64")
		}
		path := filepath.Join(cfg.DataDir, masterKeyFile)
		var created bool
		var err error
		if rawKey, created, err = secretbox.LoadOrCreate(path, secretbox.GenerateKey); err != nil {
			return keys, fmt.Errorf("master key file: %w", err)
		}
		if created {
			keys.Generated = append(keys.Generated, path)
		}
	}
	key, err := secretbox.ParseKey(rawKey)
	if err != nil {
		return keys, fmt.Errorf("--master-key: %w", err)
	}
	if keys.Box, err = secretbox.New(key); err != nil {
		return keys, err
	}
	recorded, err := st.EnsureMeta(ctx, fingerprintKey, keys.Box.Fingerprint())
	if err != nil {
		return keys, fmt.Errorf("recording the master key fingerprint: %w", err)
	}
	if recorded != keys.Box.Fingerprint() {
		return keys, fmt.Errorf("%w: this store's webhook secrets were encrypted with another master key (fingerprint %s, this key %s); refusing to start", store.ErrKeyMismatch, recorded, keys.Box.Fingerprint())
	}
	secret, generated, err := loadJWTSecret(cfg)
	keys.JWTSecret = secret
	if generated != "" {
		keys.Generated = append(keys.Generated, generated)
	}
	return keys, err
}

// LoadJWTSecret resolves the HS256 secret: --jwt-secret, else none when
// --jwks-url is set (asymmetric tokens only), else (embedded store only) a
// secret generated into --data-dir on first use.
func LoadJWTSecret(cfg *config.Config) ([]byte, error) {
	secret, _, err := loadJWTSecret(cfg)
	return secret, err
}

// loadJWTSecret is LoadJWTSecret that also returns the path of the secret
// file when this call generated it.
func loadJWTSecret(cfg *config.Config) (secret []byte, generated string, err error) {
	switch {
	case cfg.JWTSecret != "":
		return []byte(cfg.JWTSecret), "", nil
	case cfg.JWKSURL != "":
		return nil, "", nil
	case cfg.IsPostgres():
		return nil, "", errors.New("--jwt-secret (or --jwks-url) is required with PostgreSQL: every process must share it")
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, "", fmt.Errorf("creating --data-dir: %w", err)
	}
	path := filepath.Join(cfg.DataDir, jwtSecretFile)
	value, created, err := secretbox.LoadOrCreate(path, func() (string, error) {
		return secretbox.GenerateSecret("", 48)
	})
	if err != nil {
		return nil, "", fmt.Errorf("JWT secret file: %w", err)
	}
	if created {
		generated = path
	}
	return []byte(value), generated, nil
}
