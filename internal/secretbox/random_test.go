package secretbox

import (
	"bytes"
	"io"
	"regexp"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

func TestGenerateSecretFormat(t *testing.T) {
	re := regexp.MustCompile(`^whsec_[0-9A-Za-z]{32}$`)
	seen := map[string]bool{}
	for range 200 {
		s, err := GenerateSecret("whsec_", 32)
		if err != nil {
			t.Fatal(err)
		}
		if !re.MatchString(s) {
			t.Fatalf("%q does not match %s", s, re)
		}
		if seen[s] {
			t.Fatalf("duplicate secret %q", s)
		}
		seen[s] = true
	}
}

func TestGenerateSecretRejectsBadLengths(t *testing.T) {
	for _, n := range []int{-1, 0, maxSecretLen + 1} {
		if _, err := GenerateSecret("x", n); err == nil {
			t.Errorf("GenerateSecret(n=%d) succeeded", n)
		}
	}
}

func TestAlphabetIsBase62(t *testing.T) {
	if len(Base62Alphabet) != 62 {
		t.Fatalf("alphabet has %d characters", len(Base62Alphabet))
	}
	for i := range Base62Alphabet {
		if strings.IndexByte(Base62Alphabet, Base62Alphabet[i]) != i {
			t.Fatalf("alphabet repeats %q", Base62Alphabet[i])
		}
	}
}

// repeatReader yields one byte forever.
type repeatReader byte

func (r repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

// Every byte value below 248 yields a character, each of the 62 characters
// has exactly 4 such preimages, and bytes from 248 up are skipped: the
// mapping is exactly uniform, so the output is as unbiased as crypto/rand.
func TestBase62MappingIsExactlyUniform(t *testing.T) {
	const next = 'z' // what the byte after a rejected one (61) yields
	counts := map[byte]int{}
	for b := 0; b < 256; b++ {
		src := io.MultiReader(bytes.NewReader([]byte{byte(b)}), repeatReader(61))
		out, err := base62(src, 1)
		if err != nil {
			t.Fatal(err)
		}
		if b >= acceptBelow {
			if out != string(rune(next)) {
				t.Fatalf("byte %d was not skipped: got %q", b, out)
			}
			continue
		}
		counts[out[0]]++
	}
	if len(counts) != 62 {
		t.Fatalf("%d characters reachable, want 62", len(counts))
	}
	for c, n := range counts {
		if n != acceptBelow/62 {
			t.Fatalf("character %q has %d preimages, want %d", c, n, acceptBelow/62)
		}
	}
}

// base62 consumes its source exactly as rejection sampling prescribes:
// bytes >= 248 are skipped, the others map to Alphabet[b%62], in order.
func TestBase62RejectionSampling(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 64).Draw(t, "n")
		stream := rapid.SliceOf(rapid.Byte()).Draw(t, "stream")
		var want []byte
		for _, b := range stream {
			if b < acceptBelow && len(want) < n {
				want = append(want, Base62Alphabet[b%62])
			}
		}
		for len(want) < n {
			want = append(want, '0') // from the zero bytes after the stream
		}
		got, err := base62(io.MultiReader(bytes.NewReader(stream), repeatReader(0)), n)
		if err != nil {
			t.Fatal(err)
		}
		if got != string(want) {
			t.Fatalf("got %q, want %q", got, want)
		}
	})
}

func TestBase62AllRejectedBytesError(t *testing.T) {
	if _, err := base62(bytes.NewReader(bytes.Repeat([]byte{255}, 1000)), 4); err == nil {
		t.Fatal("a source of only rejected bytes must end in an error, not loop")
	}
}
