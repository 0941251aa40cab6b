package store

import (
	"slices"
	"time"
)

// A recover call claims the failed deliveries of its window that no earlier
// call of the same webhook claimed. Rather than marking each delivery (a
// write per row: 100,000 rows took over a second on PostgreSQL), a recovery
// keeps the parts of its window no earlier recovery covered, and those parts
// decide both its count and which deliveries it redelivers. Each window ends
// at the latest when its call was accepted, so a delivery that fails later
// is never inside an earlier window.

// Range is the time span [Since, Until).
type Range struct {
	Since, Until time.Time
}

// Uncovered returns the parts of w that none of covered overlaps, in order.
func Uncovered(w Range, covered []Range) []Range {
	if !w.Since.Before(w.Until) {
		return nil
	}
	cs := slices.Clone(covered)
	slices.SortFunc(cs, func(a, b Range) int { return a.Since.Compare(b.Since) })
	var out []Range
	at := w.Since
	for _, c := range cs {
		if !c.Since.Before(c.Until) || !c.Until.After(at) {
			continue
		}
		if !c.Since.Before(w.Until) {
			break
		}
		if c.Since.After(at) {
			out = append(out, Range{at, c.Since})
		}
		at = c.Until
		if !at.Before(w.Until) {
			return out
		}
	}
	return append(out, Range{at, w.Until})
}
