package store

import (
	"bytes"
	"math/big"
	"testing"

	"github.com/google/uuid"
	"pgregory.net/rapid"
)

func TestIDAfter(t *testing.T) {
	cases := []struct{ in, want string }{
		{"019c65a0-aaaa-7bbb-8ccc-dddddddddd00", "019c65a0-aaaa-7bbb-8ccc-dddddddddd01"},
		{"019c65a0-aaaa-7bbb-8ccc-ddddddddddff", "019c65a0-aaaa-7bbb-8ccc-ddddddddde00"},
		{"019c65a0-aaaa-7bbb-8ccc-ffffffffffff", "019c65a0-aaaa-7bbb-8ccd-000000000000"},
	}
	for _, c := range cases {
		if got := IDAfter(uuid.MustParse(c.in)); got.String() != c.want {
			t.Errorf("IDAfter(%s) = %s, want %s", c.in, got, c.want)
		}
	}
}

// IDAfter is the id as a 128-bit big-endian number plus one: greater than
// id, and nothing lies between them.
func TestIDAfterIsTheNextNumber(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var id uuid.UUID
		copy(id[:], rapid.SliceOfN(rapid.Byte(), 16, 16).Draw(t, "id"))
		if id == (uuid.UUID{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}) {
			t.Skip("the largest id wraps")
		}
		next := IDAfter(id)
		if bytes.Compare(next[:], id[:]) <= 0 {
			t.Fatalf("IDAfter(%s) = %s is not after it", id, next)
		}
		want := new(big.Int).Add(new(big.Int).SetBytes(id[:]), big.NewInt(1))
		if new(big.Int).SetBytes(next[:]).Cmp(want) != 0 {
			t.Fatalf("IDAfter(%s) = %s, want %x", id, next, want)
		}
	})
}
