package app

import (
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/hookd/hookd/internal/config"
)

// logStart says at info what this process serves, and warns about key files
// it generated: they exist only in the data directory, so they must be
// backed up with it. Never a secret, key or token: the PostgreSQL URL is
// reduced to user, host and database, and key files are named, not read.
func logStart(log *slog.Logger, cfg *config.Config, addr string, keys Keys) {
	attrs := []any{"addr", addr, "version", Version}
	attrs = append(attrs, storeAttrs(cfg)...)
	attrs = append(attrs, "workers", cfg.Workers, "webhook_concurrency", cfg.WebhookConcurrency,
		"retry_schedule", cfg.RetrySchedule, "retention", cfg.Retention.String())
	log.Info("hookd serving", attrs...)
	for _, path := range keys.Generated {
		log.Warn("generated a new key file: back it up with the data directory", "file", path,
			"needed_for", keyFilePurpose[filepath.Base(path)])
	}
}

// keyFilePurpose says what is lost with a key file.
var keyFilePurpose = map[string]string{
	masterKeyFile: "decrypting the webhook secrets in the store",
	jwtSecretFile: "verifying the HS256 tokens hookd issued",
}

// storeAttrs describe the store without its credentials.
func storeAttrs(cfg *config.Config) []any {
	if !cfg.IsPostgres() {
		return []any{"store", "sqlite", "path", filepath.Join(cfg.DataDir, dbFile)}
	}
	attrs := []any{"store", "postgres"}
	u, err := url.Parse(cfg.Database)
	if err != nil {
		return attrs
	}
	if name := u.User.Username(); name != "" {
		attrs = append(attrs, "user", name)
	}
	return append(attrs, "host", u.Host, "database", strings.TrimPrefix(u.Path, "/"))
}
