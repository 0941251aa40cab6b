package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/hookd/hookd/internal/store"
	sqlitedrv "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Times are stored as unix microseconds: the precision PostgreSQL keeps, so
// both stores round a time the same way.

func ts(t time.Time) int64 { return t.UnixMicro() }

func tsOrNil(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMicro()
}

func fromTS(v int64) time.Time { return time.UnixMicro(v).UTC() }

func fromNullTS(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromTS(v.Int64)
	return &t
}

// orNow replaces the zero time with the current time.
func orNow(t time.Time) time.Time {
	if t.IsZero() {
		return time.Now()
	}
	return t
}

func nullInt(p *int) any {
	if p == nil {
		return nil
	}
	return int64(*p)
}

func fromNullInt(v sql.NullInt64) *int {
	if !v.Valid {
		return nil
	}
	n := int(v.Int64)
	return &n
}

func nullString(p *string) any {
	if p == nil {
		return nil
	}
	return *p
}

func fromNullString(v sql.NullString) *string {
	if !v.Valid {
		return nil
	}
	return &v.String
}

// blob is how an id is stored: its 16 bytes. (uuid.UUID's driver.Valuer
// would bind its 36-character text form, which the STRICT BLOB columns refuse.)
func blob(id uuid.UUID) []byte { return id[:] }

// nullUUID stores uuid.Nil as NULL.
func nullUUID(id uuid.UUID) any {
	if id == uuid.Nil {
		return nil
	}
	return blob(id)
}

// joinEvents stores a webhook's event set sorted, unique, comma-joined.
func joinEvents(evs []string) string {
	s := slices.Clone(evs)
	slices.Sort(s)
	return strings.Join(slices.Compact(s), ",")
}

func splitEvents(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, ",")
}

func subscribed(events string, eventType string) bool {
	return slices.Contains(splitEvents(events), eventType)
}

// isConstraint reports whether err is a SQLite constraint failure of one of
// the given extended codes.
func isConstraint(err error, codes ...int) bool {
	var se *sqlitedrv.Error
	return errors.As(err, &se) && slices.Contains(codes, se.Code())
}

// uniqueToConflict turns a uniqueness violation into store.ErrConflict.
func uniqueToConflict(err error) error {
	if isConstraint(err, sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY) {
		return fmt.Errorf("%w: %v", store.ErrConflict, err)
	}
	return err
}

// noRows turns sql.ErrNoRows into store.ErrNotFound.
func noRows(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	return err
}

// limits turns a page into LIMIT and OFFSET, clamped so bad input reads
// nothing rather than everything.
func limits(p store.Page) (limit, offset int) {
	if p.Size < 1 {
		return 0, 0
	}
	if p.Number < 1 {
		p.Number = 1
	}
	offset = p.Offset()
	if offset < 0 { // overflow of a huge page number
		return 0, 0
	}
	return p.Size, offset
}

// listPage reads one newest-first page of a team's rows of table, keeping
// only rows whose filterColumn equals filter when filter is set, and the
// total count. table, columns and filterColumn are constants of this package,
// never input.
func listPage[T any](ctx context.Context, db *sql.DB, table, columns, filterColumn string, teamID uuid.UUID,
	filter string, p store.Page, scan func(scanner) (T, error)) ([]T, int, error) {
	where := ` FROM ` + table + ` WHERE team_id = ?1 AND (?2 = '' OR ` + filterColumn + ` = ?2)`
	var total int
	if err := db.QueryRowContext(ctx, `SELECT count(*)`+where, blob(teamID), filter).Scan(&total); err != nil {
		return nil, 0, err
	}
	limit, offset := limits(p)
	rows, err := db.QueryContext(ctx, `SELECT `+columns+where+` ORDER BY created_at DESC, id DESC LIMIT ?3 OFFSET ?4`,
		blob(teamID), filter, limit, offset)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, v)
	}
	return out, total, rows.Err()
}

// applyCounts adds a write's count changes to delivery_counts.
func applyCounts(w *wtx, c store.CountDeltas) error {
	for _, ch := range c.Sorted() {
		if _, err := w.exec(`INSERT INTO delivery_counts (webhook_id, status, n) VALUES (?, ?, ?)
			ON CONFLICT (webhook_id, status) DO UPDATE SET n = n + excluded.n`,
			blob(ch.WebhookID), ch.Status, ch.N); err != nil {
			return err
		}
	}
	return nil
}
