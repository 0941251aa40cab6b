package store

import (
	"slices"
	"strings"

	"github.com/google/uuid"
)

// Each webhook's deliveries are counted per status (the delivery_counts
// table of both stores) in the same transaction as every insert, change of
// status and purge, so a page of the delivery log knows its total_count
// without counting a log of millions of rows.

// CountKey is one webhook's deliveries in one status.
type CountKey struct {
	WebhookID uuid.UUID
	Status    string
}

// CountDeltas tallies the changes one write makes to the counts.
type CountDeltas map[CountKey]int64

// Add counts n more deliveries of webhook in status (n may be negative).
func (c CountDeltas) Add(webhook uuid.UUID, status string, n int64) {
	if n != 0 {
		c[CountKey{webhook, status}] += n
	}
}

// Move counts n deliveries of webhook that went from one status to another.
func (c CountDeltas) Move(webhook uuid.UUID, from, to string, n int64) {
	if from != to {
		c.Add(webhook, from, -n)
		c.Add(webhook, to, n)
	}
}

// CountChange is one non-zero entry of CountDeltas.
type CountChange struct {
	CountKey
	N int64
}

// Sorted returns the non-zero changes ordered by webhook then status: every
// writer touches count rows in that one order, so concurrent writers of
// several processes never wait for each other in a cycle.
func (c CountDeltas) Sorted() []CountChange {
	out := make([]CountChange, 0, len(c))
	for k, n := range c {
		if n != 0 {
			out = append(out, CountChange{k, n})
		}
	}
	slices.SortFunc(out, func(a, b CountChange) int {
		if d := slices.Compare(a.WebhookID[:], b.WebhookID[:]); d != 0 {
			return d
		}
		return strings.Compare(a.Status, b.Status)
	})
	return out
}

// Statuses are the delivery states, in the order the log merges them.
var Statuses = []string{StatusPending, StatusSucceeded, StatusFailed, StatusCanceled}
