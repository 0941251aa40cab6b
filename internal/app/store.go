// Package app wires hookd together from its configuration: it opens the
// store, loads or generates key material, and runs the API and the delivery
// engine (Serve). The command line (cmd/hookd) and the demo use it.
package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
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

// ErrNoStore is matched (errors.Is) by the error of an administration
// command whose --data-dir holds no embedded store.
var ErrNoStore = errors.New("no hookd store")

// OpenStore opens (and migrates) the configured store for the
// administration commands: on the embedded store they may run beside a
// serving process. It refuses a --data-dir that holds no store (see
// RequireStore); CreateStore is the explicit way to start one.
func OpenStore(ctx context.Context, cfg *config.Config) (store.Store, error) {
	if err := RequireStore(cfg); err != nil {
		return nil, err
	}
	return openStore(ctx, cfg, false, nil)
}

// CreateStore is OpenStore that creates an empty embedded store when
// --data-dir has none (`--init` of the administration commands, the demo
// and the bench, which bootstrap a store before serving it).
func CreateStore(ctx context.Context, cfg *config.Config) (store.Store, error) {
	return openStore(ctx, cfg, false, nil)
}

// OpenServingStore opens the store for `hookd serve`, creating an embedded
// one on first start: on the embedded store it holds the data directory's
// lock, so a second server is refused with a clear error (and this one owns
// every lease it finds). obs (may be nil) is told of the store's commit
// rounds and new deliveries (metrics).
func OpenServingStore(ctx context.Context, cfg *config.Config, obs store.Observer) (store.Store, error) {
	return openStore(ctx, cfg, true, obs)
}

// RequireStore returns nil on PostgreSQL or when --data-dir holds an
// embedded store. An administration command run in the wrong directory
// would otherwise create an empty store (and a new JWT secret) beside the
// real one, and its user would meet "no team" and "bearer token signature
// is invalid" later instead of the real mistake.
func RequireStore(cfg *config.Config) error {
	if cfg.IsPostgres() {
		return nil
	}
	_, err := os.Stat(filepath.Join(cfg.DataDir, dbFile))
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w in %s: run this where `hookd serve` keeps its data (its --data-dir, default ./hookd-data of the directory it runs in), or pass that directory with --data-dir; to create a new, empty store here, add --init", ErrNoStore, absPath(cfg.DataDir))
	default:
		return fmt.Errorf("--data-dir %s: %w", absPath(cfg.DataDir), err)
	}
}

// absPath names a directory the way an operator can find it whatever
// directory the command ran in.
func absPath(dir string) string {
	if abs, err := filepath.Abs(dir); err == nil {
		return abs
	}
	return dir
}

func openStore(ctx context.Context, cfg *config.Config, serving bool, obs store.Observer) (store.Store, error) {
	if cfg.IsPostgres() {
		st, err := postgres.Open(ctx, postgres.Options{URL: cfg.Database, Observer: obs})
		if err != nil {
			return nil, describePostgresError(err)
		}
		return st, nil
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating --data-dir: %w", err)
	}
	st, err := sqlite.Open(ctx, sqlite.Options{Path: filepath.Join(cfg.DataDir, dbFile), Exclusive: serving, Observer: obs})
	if err != nil {
		return nil, fmt.Errorf("opening the store: %w", err)
	}
	return st, nil
}

// Keys is the key material of a running hookd.
type Keys struct {
	Box       *secretbox.Box
	JWTSecret []byte // nil: HS256 tokens are not accepted
	// Generated lists the key files this call created (embedded store):
	// they must be backed up with the data directory.
	Generated []string
}

// LoadKeys resolves --master-key, --previous-master-key and --jwt-secret.
// On the embedded store missing ones are generated into --data-dir (mode
// 0600); on PostgreSQL every process must share them, so the master key is
// required. The store records the fingerprints of the master keys its
// secrets may be sealed under, and a process lacking one of them refuses to
// start (masterkey.Check).
func LoadKeys(ctx context.Context, cfg *config.Config, st store.Store) (Keys, error) {
	var keys Keys
	box, generated, err := masterBox(cfg)
	if err != nil {
		return keys, err
	}
	if generated != "" {
		keys.Generated = append(keys.Generated, generated)
	}
	if _, err := masterkey.Check(ctx, st, box); err != nil {
		if errors.Is(err, store.ErrKeyMismatch) && interruptedRotation(cfg) {
			err = fmt.Errorf("%w. A master-key rotation of this data directory was interrupted (%s exists): run `hookd keys rotate-master` again to finish it", err, nextMasterKeyFile)
		}
		return keys, err
	}
	keys.Box = box
	secret, generated, err := loadJWTSecret(cfg)
	keys.JWTSecret = secret
	if generated != "" {
		keys.Generated = append(keys.Generated, generated)
	}
	return keys, err
}

// MasterBox is the configured master key, sealing, with the previous keys
// that only open. Without --master-key the embedded store uses (and on
// first use creates) <data-dir>/master.key.
func MasterBox(cfg *config.Config) (*secretbox.Box, error) {
	box, _, err := masterBox(cfg)
	return box, err
}

// masterBox is MasterBox, also naming the key file it generated, if any.
func masterBox(cfg *config.Config) (box *secretbox.Box, generated string, err error) {
	rawKey := cfg.MasterKey
	if rawKey == "" {
		if cfg.IsPostgres() {
			return nil, "", errMasterKeyRequired
		}
		path := filepath.Join(cfg.DataDir, masterKeyFile)
		var created bool
		if rawKey, created, err = secretbox.LoadOrCreate(path, secretbox.GenerateKey); err != nil {
			return nil, "", fmt.Errorf("master key file: %w", err)
		}
		if created {
			generated = path
		}
	}
	key, err := secretbox.ParseKey(rawKey)
	if err != nil {
		return nil, generated, fmt.Errorf("--master-key: %w", err)
	}
	var previous [][]byte
	for i, raw := range cfg.PreviousMasterKey {
		k, err := secretbox.ParseKey(raw)
		if err != nil {
			return nil, generated, fmt.Errorf("--previous-master-key (number %d): %w", i+1, err)
		}
		previous = append(previous, k)
	}
	box, err = secretbox.New(key, previous...)
	return box, generated, err
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
// --jwks-url is set (asymmetric tokens only), else (embedded store only) the
// store's secret in --data-dir, generated on first use.
func LoadJWTSecret(cfg *config.Config) ([]byte, error) {
	secret, _, err := loadJWTSecret(cfg)
	return secret, err
}

// loadJWTSecret is LoadJWTSecret, also naming the file it generated, if any.
func loadJWTSecret(cfg *config.Config) (secret []byte, generated string, err error) {
	switch {
	case cfg.JWTSecret != "":
		return []byte(cfg.JWTSecret), "", nil
	case cfg.JWKSURL != "":
		return nil, "", nil
	case cfg.IsPostgres():
		return nil, "", errJWTSecretRequired
	}
	// The secret belongs to a store: one generated for a directory without
	// a store signs tokens that the real server refuses.
	if err := RequireStore(cfg); err != nil {
		return nil, "", err
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
