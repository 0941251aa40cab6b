package secretbox

import (
	"bytes"
	"encoding/base64"
	"regexp"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

func newTestBox(t *testing.T, fill byte) *Box {
	t.Helper()
	b, err := New(bytes.Repeat([]byte{fill}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSealOpenRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		key := rapid.SliceOfN(rapid.Byte(), KeySize, KeySize).Draw(t, "key")
		pt := rapid.SliceOf(rapid.Byte()).Draw(t, "plaintext")
		b, err := New(key)
		if err != nil {
			t.Fatal(err)
		}
		ct := b.Seal(pt)
		if len(ct) != nonceSize+len(pt)+tagSize {
			t.Fatalf("ciphertext length %d, want %d", len(ct), nonceSize+len(pt)+tagSize)
		}
		got, err := b.Open(ct)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, pt) {
			t.Fatalf("round trip: got %x, want %x", got, pt)
		}
	})
}

func TestSealUsesFreshNonces(t *testing.T) {
	b := newTestBox(t, 1)
	x, y := b.Seal([]byte("whsec_same")), b.Seal([]byte("whsec_same"))
	if bytes.Equal(x[:nonceSize], y[:nonceSize]) || bytes.Equal(x, y) {
		t.Fatal("two seals of the same plaintext are identical: nonce reused")
	}
}

func TestOpenDetectsTampering(t *testing.T) {
	b := newTestBox(t, 2)
	ct := b.Seal([]byte("whsec_abcdefghijklmnopqrstuvwxyz0123456"))
	for i := range ct {
		bad := bytes.Clone(ct)
		bad[i] ^= 0x01
		if _, err := b.Open(bad); err != ErrOpen {
			t.Fatalf("flipping a bit of byte %d: err = %v, want ErrOpen", i, err)
		}
	}
	for n := 0; n < len(ct); n++ {
		if _, err := b.Open(ct[:n]); err != ErrOpen {
			t.Fatalf("truncated to %d bytes: err = %v, want ErrOpen", n, err)
		}
	}
	if _, err := b.Open(append(bytes.Clone(ct), 0)); err != ErrOpen {
		t.Fatalf("extended ciphertext: err = %v, want ErrOpen", err)
	}
}

func TestOpenWithWrongKeyFails(t *testing.T) {
	ct := newTestBox(t, 3).Seal([]byte("secret"))
	if _, err := newTestBox(t, 4).Open(ct); err != ErrOpen {
		t.Fatalf("err = %v, want ErrOpen", err)
	}
}

func TestNewRejectsBadKeyLengths(t *testing.T) {
	for _, n := range []int{0, 1, 16, 24, 31, 33, 64} {
		if _, err := New(make([]byte, n)); err == nil {
			t.Errorf("New with a %d-byte key succeeded", n)
		}
	}
}

func TestFingerprint(t *testing.T) {
	a1, a2, b := newTestBox(t, 5), newTestBox(t, 5), newTestBox(t, 6)
	if a1.Fingerprint() != a2.Fingerprint() {
		t.Fatal("fingerprint of the same key differs between boxes")
	}
	if a1.Fingerprint() == b.Fingerprint() {
		t.Fatal("different keys share a fingerprint")
	}
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(a1.Fingerprint()) {
		t.Fatalf("fingerprint %q is not 32 lower-case hex characters", a1.Fingerprint())
	}
	// Pinned so that a change of scheme (which would lock every existing
	// deployment out of its store) cannot go unnoticed.
	// Computed independently: python3 -c "import hmac,hashlib; print(hmac.new(bytes(32),
	// b'hookd master-key fingerprint v1',hashlib.sha256).hexdigest()[:32])"
	const want = "9dc0d9dff4d5f0d243e8ed3a722e09be"
	if got := newTestBox(t, 0).Fingerprint(); got != want {
		t.Fatalf("fingerprint of the all-zero key = %s, want %s", got, want)
	}
}

func TestParseKey(t *testing.T) {
	raw := make([]byte, KeySize)
	for i := range raw {
		raw[i] = byte(250 - i) // produces '+' '/' or '-' '_' in the encodings
	}
	for name, enc := range map[string]*base64.Encoding{
		"std": base64.StdEncoding, "raw std": base64.RawStdEncoding,
		"url": base64.URLEncoding, "raw url": base64.RawURLEncoding,
	} {
		got, err := ParseKey("  " + enc.EncodeToString(raw) + "\n")
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !bytes.Equal(got, raw) {
			t.Errorf("%s: decoded %x, want %x", name, got, raw)
		}
	}
	secretish := "not-base64-but-secret!!"
	for _, in := range []string{
		"", "   ",
		secretish,
		base64.StdEncoding.EncodeToString(make([]byte, 16)),
		base64.StdEncoding.EncodeToString(make([]byte, 31)),
		base64.StdEncoding.EncodeToString(make([]byte, 33)),
		base64.StdEncoding.EncodeToString(make([]byte, 64)),
	} {
		_, err := ParseKey(in)
		if err == nil {
			t.Errorf("ParseKey(%q) succeeded", in)
			continue
		}
		if strings.TrimSpace(in) != "" && strings.Contains(err.Error(), strings.TrimSpace(in)) {
			t.Errorf("error %q repeats the key", err)
		}
	}
}

func TestGenerateKeyParses(t *testing.T) {
	k1, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	k2, _ := GenerateKey()
	if k1 == k2 {
		t.Fatal("two generated keys are equal")
	}
	key, err := ParseKey(k1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(key); err != nil {
		t.Fatal(err)
	}
}

// A Box with previous keys seals under its own key only and opens what any
// of its keys sealed: the state of a store in the middle of a master-key
// rotation.
func TestBoxWithPreviousKeys(t *testing.T) {
	oldKey, newKey, otherKey := bytes.Repeat([]byte{7}, KeySize), bytes.Repeat([]byte{8}, KeySize), bytes.Repeat([]byte{9}, KeySize)
	oldBox, _ := New(oldKey)
	newBox, _ := New(newKey)
	ring, err := New(newKey, oldKey, newKey, oldKey)
	if err != nil {
		t.Fatal(err)
	}
	if got := ring.Fingerprints(); len(got) != 2 || got[0] != newBox.Fingerprint() || got[1] != oldBox.Fingerprint() {
		t.Fatalf("Fingerprints() = %v, want [new old] without repeats", got)
	}
	if ring.Fingerprint() != newBox.Fingerprint() {
		t.Fatal("the ring's fingerprint is not its sealing key's")
	}
	for name, ct := range map[string][]byte{"old": oldBox.Seal([]byte("whsec_old")), "new": newBox.Seal([]byte("whsec_new"))} {
		if pt, err := ring.Open(ct); err != nil || string(pt) != "whsec_"+name {
			t.Fatalf("ring opens the %s key's ciphertext: %q, %v", name, pt, err)
		}
	}
	sealed := ring.Seal([]byte("whsec_x"))
	if _, err := oldBox.Open(sealed); err != ErrOpen {
		t.Fatal("the ring sealed under a previous key")
	}
	if pt, err := newBox.Open(sealed); err != nil || string(pt) != "whsec_x" {
		t.Fatalf("the ring did not seal under its own key: %q, %v", pt, err)
	}
	other, _ := New(otherKey)
	if _, err := ring.Open(other.Seal([]byte("x"))); err != ErrOpen {
		t.Fatalf("a key outside the ring opened: %v", err)
	}
	if _, err := New(newKey, make([]byte, 5)); err == nil || !strings.Contains(err.Error(), "previous key 1") {
		t.Fatalf("a bad previous key: err = %v, want one naming it", err)
	}
}
