package postgres

import (
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// TestUUIDCodecRoundTrips: ids, id arrays, NULL and nullable ids survive the
// binary plans both ways, and a NULL into a plain id is an error.
func TestUUIDCodecRoundTrips(t *testing.T) {
	s := TestStore(t)
	ctx := t.Context()
	a, b := uuid.New(), uuid.Must(uuid.NewV7())

	var one uuid.UUID
	var many []uuid.UUID
	var text string
	if err := s.pool.QueryRow(ctx, `SELECT $1::uuid, $2::uuid[], $1::uuid::text`, a, []uuid.UUID{a, b}).
		Scan(&one, &many, &text); err != nil {
		t.Fatal(err)
	}
	if one != a || len(many) != 2 || many[0] != a || many[1] != b || text != a.String() {
		t.Fatalf("got %v %v %q, want %v [%v %v]", one, many, text, a, a, b)
	}

	var none, some *uuid.UUID
	if err := s.pool.QueryRow(ctx, `SELECT $1::uuid, $2::uuid`, (*uuid.UUID)(nil), &b).Scan(&none, &some); err != nil {
		t.Fatal(err)
	}
	if none != nil || some == nil || *some != b {
		t.Fatalf("nullable: got %v %v, want nil and %v", none, some, b)
	}

	if err := s.pool.QueryRow(ctx, `SELECT NULL::uuid`).Scan(&one); err == nil {
		t.Fatal("NULL scanned into uuid.UUID without error")
	}

	// The simple protocol returns text.
	var fromText uuid.UUID
	if err := s.pool.QueryRow(ctx, `SELECT '`+b.String()+`'::uuid`, pgx.QueryExecModeSimpleProtocol).Scan(&fromText); err != nil {
		t.Fatal(err)
	}
	if fromText != b {
		t.Fatalf("text: got %v, want %v", fromText, b)
	}
	if err := s.pool.QueryRow(ctx, `SELECT NULL::uuid`, pgx.QueryExecModeSimpleProtocol).Scan(&fromText); err == nil {
		t.Fatal("NULL text scanned into uuid.UUID without error")
	}
}
