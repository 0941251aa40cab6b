package masterkey

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hookd/hookd/internal/store"
)

// MetaKey is the store's meta entry holding the recorded fingerprints.
const MetaKey = "master_key_fingerprint"

// Set is a set of key fingerprints, sorted. Its String form is what the
// store records: a single fingerprint, as hookd always recorded it, or
// several joined by commas while a rotation runs (a release that knows
// only one key compares the whole value and refuses to start, as it must).
type Set []string

// ParseSet reads a recorded value.
func ParseSet(v string) Set {
	var s Set
	for _, fp := range strings.Split(v, ",") {
		if fp = strings.TrimSpace(fp); fp != "" {
			s = s.With(fp)
		}
	}
	return s
}

func (s Set) String() string { return strings.Join(s, ",") }

// Has reports whether fp is in the set.
func (s Set) Has(fp string) bool { return slices.Contains(s, fp) }

// With returns the set with fp added.
func (s Set) With(fp string) Set {
	if s.Has(fp) {
		return s
	}
	out := append(slices.Clone(s), fp)
	slices.Sort(out)
	return out
}

// Missing returns the members of s that are not in keys.
func (s Set) Missing(keys []string) Set {
	var out Set
	for _, fp := range s {
		if !slices.Contains(keys, fp) {
			out = append(out, fp)
		}
	}
	return out
}

// Admit decides whether a process holding keys (fingerprints, the sealing
// key first) may use a store that recorded the set recorded, and what the
// store must record before it starts: recorded itself, or recorded with the
// process's sealing key added (the start of a rotation). A process that
// lacks a recorded key could not open some secrets: refused with
// store.ErrKeyMismatch and an error that says what to do.
func Admit(recorded Set, keys []string) (Set, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: no master key", store.ErrKeyMismatch)
	}
	if missing := recorded.Missing(keys); len(missing) > 0 {
		if len(recorded) == 1 {
			return nil, fmt.Errorf("%w: this store's webhook secrets were encrypted with another master key "+
				"(fingerprint %s, this key %s); refusing to start. If the master key was rotated, start with the new key as --master-key",
				store.ErrKeyMismatch, recorded, strings.Join(keys, ", "))
		}
		return nil, fmt.Errorf("%w: this store's webhook secrets are being moved between master keys "+
			"(fingerprints %s) and this process lacks %s (it has %s); refusing to start. "+
			"While a rotation runs, give the new key as --master-key and the old one as --previous-master-key",
			store.ErrKeyMismatch, strings.Join(recorded, ", "), strings.Join(missing, ", "), strings.Join(keys, ", "))
	}
	return recorded.With(keys[0]), nil
}
