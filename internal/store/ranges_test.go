package store

import (
	"testing"
	"time"

	"pgregory.net/rapid"
)

func TestUncovered(t *testing.T) {
	base := time.Date(2026, 2, 16, 9, 0, 0, 0, time.UTC)
	r := func(a, b int) Range {
		return Range{base.Add(time.Duration(a) * time.Minute), base.Add(time.Duration(b) * time.Minute)}
	}
	for _, c := range []struct {
		name    string
		w       Range
		covered []Range
		want    []Range
	}{
		{"nothing covered", r(0, 10), nil, []Range{r(0, 10)}},
		{"empty window", r(5, 5), nil, nil},
		{"fully covered", r(2, 8), []Range{r(0, 10)}, nil},
		{"a hole in the middle", r(0, 10), []Range{r(3, 5)}, []Range{r(0, 3), r(5, 10)}},
		{"overlapping covers, unsorted", r(0, 10), []Range{r(6, 12), r(2, 4), r(3, 7)}, []Range{r(0, 2)}},
		{"touching edges", r(0, 10), []Range{r(10, 20), r(-5, 0)}, []Range{r(0, 10)}},
		{"empty covers ignored", r(0, 10), []Range{r(4, 4)}, []Range{r(0, 10)}},
	} {
		got := Uncovered(c.w, c.covered)
		if len(got) != len(c.want) {
			t.Fatalf("%s: %v, want %v", c.name, got, c.want)
		}
		for i := range got {
			if !got[i].Since.Equal(c.want[i].Since) || !got[i].Until.Equal(c.want[i].Until) {
				t.Fatalf("%s: %v, want %v", c.name, got, c.want)
			}
		}
	}
}

// Property: a point is in the result exactly when it is in the window and
// in no cover; the parts are ordered, disjoint and non-empty.
func TestUncoveredProperties(t *testing.T) {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(n int) time.Time { return base.Add(time.Duration(n) * time.Second) }
	span := func(t *rapid.T, label string) Range {
		a := rapid.IntRange(0, 60).Draw(t, label+".a")
		b := rapid.IntRange(0, 60).Draw(t, label+".b")
		return Range{at(a), at(b)}
	}
	rapid.Check(t, func(t *rapid.T) {
		w := span(t, "window")
		var covered []Range
		for i := range rapid.IntRange(0, 5).Draw(t, "n") {
			covered = append(covered, span(t, "cover"+string(rune('0'+i))))
		}
		got := Uncovered(w, covered)
		for i, g := range got {
			if !g.Since.Before(g.Until) || (i > 0 && g.Since.Before(got[i-1].Until)) {
				t.Fatalf("parts %v are not ordered, disjoint and non-empty", got)
			}
		}
		in := func(p time.Time, r Range) bool { return !p.Before(r.Since) && p.Before(r.Until) }
		for n := 0; n <= 60; n++ {
			p := at(n)
			want := in(p, w)
			for _, c := range covered {
				want = want && !in(p, c)
			}
			have := false
			for _, g := range got {
				have = have || in(p, g)
			}
			if have != want {
				t.Fatalf("second %d: in result %v, want %v (window %v, covered %v, got %v)", n, have, want, w, covered, got)
			}
		}
	})
}
