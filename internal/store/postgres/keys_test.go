package postgres

import (
	"context"
	"testing"
)

// LiveOwners sees every process registered on the schema, and only while
// it holds its lock: a master-key rotation relies on it to know whether
// servers are running.
func TestLiveOwnersCountsRegisteredProcesses(t *testing.T) {
	opt := TestSchema(t)
	a, b := OpenTest(t, opt), OpenTest(t, opt)
	ctx := context.Background()
	count := func(want int) {
		t.Helper()
		n, err := b.LiveOwners(ctx)
		if err != nil || n != want {
			t.Fatalf("LiveOwners = %d, %v; want %d", n, err, want)
		}
	}
	count(0)
	ra, err := a.Register(ctx)
	if err != nil {
		t.Fatal(err)
	}
	count(1)
	rb, err := b.Register(ctx)
	if err != nil {
		t.Fatal(err)
	}
	count(2)
	other := OpenTest(t, TestSchema(t)) // another schema's servers are not ours
	if n, err := other.LiveOwners(ctx); err != nil || n != 0 {
		t.Fatalf("another schema's LiveOwners = %d, %v; want 0", n, err)
	}
	_ = ra.Close()
	_ = rb.Close()
	count(0)
}
