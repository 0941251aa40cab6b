package postgres

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hookd/hookd/internal/store"
)

// errClosed is returned by writes submitted after Close.
var errClosed = errors.New("postgres: store closed")

// PostgreSQL error codes the store interprets.
const (
	codeUniqueViolation      = "23505"
	codeForeignKeyViolation  = "23503"
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"
)

func pgCode(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

// mapErr turns driver errors into the store's sentinel errors where the
// interface defines one, and wraps the rest with what was being done.
func mapErr(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, pgx.ErrNoRows):
		return store.ErrNotFound
	case pgCode(err) == codeUniqueViolation:
		return fmt.Errorf("postgres: %s: %w", op, store.ErrConflict)
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}

// retryable reports errors after which PostgreSQL has rolled the
// transaction back and running it again may succeed.
func retryable(err error) bool {
	c := pgCode(err)
	return c == codeSerializationFailure || c == codeDeadlockDetected
}

// checkPage refuses pages a list query cannot honour.
func checkPage(p store.Page) error {
	if p.Number < 1 || p.Size < 1 {
		return fmt.Errorf("postgres: invalid page %+v", p)
	}
	return nil
}

// utc returns t in UTC: pgx returns timestamptz in the local zone.
func utc(t time.Time) time.Time { return t.UTC() }

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// cleanText makes s storable as PostgreSQL text, which refuses NUL and
// invalid UTF-8 (an error message can quote a receiver's raw bytes).
func cleanText(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

func cleanTextPtr(s *string) *string {
	if s == nil {
		return nil
	}
	c := cleanText(*s)
	return &c
}

// countsSQL adds count changes ($1 webhooks, $2 statuses, $3 deltas, in
// store.CountDeltas.Sorted order) to delivery_counts.
const countsSQL = `INSERT INTO delivery_counts (webhook_id, status, n)
	SELECT * FROM unnest($1::uuid[], $2::text[], $3::bigint[])
	ON CONFLICT (webhook_id, status) DO UPDATE SET n = delivery_counts.n + excluded.n`

// queueCounts queues a write's count changes, if any.
func queueCounts(b *pgx.Batch, c store.CountDeltas) {
	changes := c.Sorted()
	if len(changes) == 0 {
		return
	}
	hooks, statuses, deltas := make([]uuid.UUID, len(changes)), make([]string, len(changes)), make([]int64, len(changes))
	for i, ch := range changes {
		hooks[i], statuses[i], deltas[i] = ch.WebhookID, ch.Status, ch.N
	}
	b.Queue(countsSQL, hooks, statuses, deltas)
}
