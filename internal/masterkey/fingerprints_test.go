package masterkey

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/hookd/hookd/internal/store"
)

func TestAdmit(t *testing.T) {
	cases := []struct {
		name     string
		recorded string
		keys     []string // sealing key first
		want     string   // recorded afterwards; "" with wantErr
		wantErr  string   // part of the message
	}{
		{"same key", "a", []string{"a"}, "a", ""},
		{"same key, with a previous key the store does not need", "a", []string{"a", "z"}, "a", ""},
		{"another key", "a", []string{"b"}, "", "another master key"},
		{"rotation starts: new sealing key, old as previous", "a", []string{"b", "a"}, "a,b", ""},
		{"rotation runs: new key with old", "a,b", []string{"b", "a"}, "a,b", ""},
		{"rotation runs: old sealing key with new as previous", "a,b", []string{"a", "b"}, "a,b", ""},
		{"rotation runs: old key only", "a,b", []string{"a"}, "", "lacks b"},
		{"rotation runs: new key only", "a,b", []string{"b"}, "", "lacks a"},
		{"rotation done: new key", "b", []string{"b"}, "b", ""},
		{"rotation done: old key only", "b", []string{"a"}, "", "If the master key was rotated, start with the new key"},
		{"rotation done: new key with old as previous", "b", []string{"b", "a"}, "b", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Admit(ParseSet(tc.recorded), tc.keys)
			if tc.wantErr != "" {
				if !errors.Is(err, store.ErrKeyMismatch) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want ErrKeyMismatch mentioning %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got.String() != tc.want {
				t.Fatalf("Admit = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// Whatever was recorded and whatever keys a process holds: an admitted
// process holds every key the store records afterwards, and its sealing key
// is among them; a refused one lacked a recorded key.
func TestAdmitProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		fp := rapid.SampledFrom([]string{"a", "b", "c", "d"})
		recorded := ParseSet(strings.Join(rapid.SliceOfN(fp, 1, 3).Draw(t, "recorded"), ","))
		keys := rapid.SliceOfNDistinct(fp, 1, 3, func(s string) string { return s }).Draw(t, "keys")
		got, err := Admit(recorded, keys)
		if err != nil {
			if len(recorded.Missing(keys)) == 0 {
				t.Fatalf("refused although it holds every recorded key: %v", err)
			}
			return
		}
		if len(got.Missing(keys)) > 0 || !got.Has(keys[0]) {
			t.Fatalf("records %v for keys %v", got, keys)
		}
		for _, f := range recorded {
			if !got.Has(f) {
				t.Fatalf("dropped recorded %s: only a finished rotation may", f)
			}
		}
		if !slices.IsSorted(got) || ParseSet(got.String()).String() != got.String() {
			t.Fatalf("%v does not round-trip as a sorted set", got)
		}
	})
}

func TestParseSetReadsTheSingleFingerprintOfEarlierReleases(t *testing.T) {
	if got := ParseSet("9dc0d9dff4d5f0d243e8ed3a722e09be"); got.String() != "9dc0d9dff4d5f0d243e8ed3a722e09be" {
		t.Fatalf("ParseSet = %v", got)
	}
	if got := ParseSet(" b, a ,,b"); got.String() != "a,b" {
		t.Fatalf("ParseSet = %q, want a,b", got)
	}
}
