package masterkey

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hookd/hookd/internal/secretbox"
	"github.com/hookd/hookd/internal/store"
	"github.com/hookd/hookd/internal/store/postgres"
	"github.com/hookd/hookd/internal/store/sqlite"
)

// stores runs fn on the embedded store and, when HOOKD_TEST_DATABASE_URL is
// set, on PostgreSQL.
func stores(t *testing.T, fn func(t *testing.T, st store.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		st, err := sqlite.Open(context.Background(), sqlite.Options{Path: filepath.Join(t.TempDir(), "hookd.db")})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		fn(t, st)
	})
	t.Run("postgres", func(t *testing.T) { fn(t, postgres.TestStore(t)) })
}

func box(t *testing.T, keys ...byte) *secretbox.Box {
	t.Helper()
	var prev [][]byte
	for _, k := range keys[1:] {
		prev = append(prev, bytes.Repeat([]byte{k}, secretbox.KeySize))
	}
	b, err := secretbox.New(bytes.Repeat([]byte{keys[0]}, secretbox.KeySize), prev...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fixture is a store with webhooks whose secrets are sealed under oldBox.
type fixture struct {
	st      store.Store
	team    uuid.UUID
	secrets map[uuid.UUID]string
}

func newFixture(t *testing.T, st store.Store, sealer *secretbox.Box, n int) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{st: st, team: uuid.Must(uuid.NewV7()), secrets: map[uuid.UUID]string{}}
	if err := st.CreateTeam(ctx, store.Team{ID: f.team, DisplayName: "t", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := Check(ctx, st, sealer); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		f.add(t, sealer, fmt.Sprintf("whsec_secret%02d", i))
	}
	return f
}

func (f *fixture) add(t *testing.T, sealer *secretbox.Box, secret string) uuid.UUID {
	t.Helper()
	id := uuid.Must(uuid.NewV7())
	err := f.st.CreateWebhook(context.Background(), store.Webhook{ID: id, TeamID: f.team, DisplayName: "w",
		URL: "https://example.com/" + id.String(), SecretEnc: sealer.Seal([]byte(secret)),
		Events: []string{"task.completed"}, Status: store.WebhookActive, CreatedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	f.secrets[id] = secret
	return id
}

// sealedUnder checks that every secret opens under b alone, unchanged.
func (f *fixture) sealedUnder(t *testing.T, b *secretbox.Box) map[uuid.UUID][]byte {
	t.Helper()
	ciphertexts := map[uuid.UUID][]byte{}
	for id, want := range f.secrets {
		w, err := f.st.GetWebhook(context.Background(), f.team, id)
		if err != nil {
			t.Fatal(err)
		}
		got, err := b.Open(w.SecretEnc)
		if err != nil || string(got) != want {
			t.Fatalf("webhook %s: opens to %q, %v; want %q", id, got, err, want)
		}
		ciphertexts[id] = w.SecretEnc
	}
	return ciphertexts
}

func recorded(t *testing.T, st store.Store) string {
	t.Helper()
	v, err := st.EnsureMeta(context.Background(), MetaKey, "unset")
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestRotateMovesEverySecretAndIsIdempotent(t *testing.T) {
	stores(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		oldKey, newKey := box(t, 1), box(t, 2)
		f := newFixture(t, st, oldKey, 7)
		res, err := Rotate(ctx, st, oldKey, newKey, Options{BatchSize: 3})
		if err != nil {
			t.Fatal(err)
		}
		if res.Webhooks != 7 || res.Reencrypted != 7 || res.AlreadyCurrent != 0 || res.Retired.String() != oldKey.Fingerprint() {
			t.Fatalf("result %+v", res)
		}
		before := f.sealedUnder(t, newKey)
		if got := recorded(t, st); got != newKey.Fingerprint() {
			t.Fatalf("recorded %q, want only the new key %s", got, newKey.Fingerprint())
		}

		again, err := Rotate(ctx, st, oldKey, newKey, Options{BatchSize: 3})
		if err != nil || again.Reencrypted != 0 || again.AlreadyCurrent != 7 || len(again.Retired) != 0 {
			t.Fatalf("second run: %+v, %v; want nothing changed", again, err)
		}
		for id, ct := range f.sealedUnder(t, newKey) {
			if !bytes.Equal(ct, before[id]) {
				t.Fatalf("second run rewrote webhook %s", id)
			}
		}

		// Who may start now.
		if _, err := Check(ctx, st, oldKey); !errors.Is(err, store.ErrKeyMismatch) {
			t.Fatalf("a process with only the old key: %v, want ErrKeyMismatch", err)
		}
		for _, b := range []*secretbox.Box{newKey, box(t, 2, 1)} {
			if _, err := Check(ctx, st, b); err != nil {
				t.Fatalf("a process with the new key: %v", err)
			}
		}
	})
}

// A server started with the new key records it at once; from then on a
// server with the old key alone is refused, and one with both keys reads
// every secret however far the rotation got.
func TestServersDuringARotation(t *testing.T) {
	stores(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		oldKey, newKey := box(t, 1), box(t, 2)
		f := newFixture(t, st, oldKey, 4)
		both := box(t, 2, 1)
		if set, err := Check(ctx, st, both); err != nil || set.String() != ParseSet(oldKey.Fingerprint()+","+newKey.Fingerprint()).String() {
			t.Fatalf("a server with new+old: %v, %v; want both recorded", set, err)
		}
		if _, err := Check(ctx, st, oldKey); !errors.Is(err, store.ErrKeyMismatch) {
			t.Fatalf("a server with the old key alone during the rotation: %v", err)
		}
		f.add(t, both, "whsec_made_during_rotation") // sealed under the new key
		f.sealedUnder(t, both)
		res, err := Rotate(ctx, st, oldKey, newKey, Options{LiveServers: func(context.Context) (int, error) { return 2, nil }})
		if err != nil {
			t.Fatal(err)
		}
		if res.Reencrypted != 4 || res.AlreadyCurrent != 1 {
			t.Fatalf("result %+v", res)
		}
		f.sealedUnder(t, newKey)
	})
}

// With servers running and none announcing the new key, nothing is sealed
// under it: they could not open it.
func TestRotateRefusesKeysRunningServersLack(t *testing.T) {
	stores(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		oldKey, newKey := box(t, 1), box(t, 2)
		f := newFixture(t, st, oldKey, 2)
		_, err := Rotate(ctx, st, oldKey, newKey, Options{LiveServers: func(context.Context) (int, error) { return 1, nil }})
		if !errors.Is(err, ErrServersLackKey) {
			t.Fatalf("err = %v, want ErrServersLackKey", err)
		}
		f.sealedUnder(t, oldKey)
		if got := recorded(t, st); got != oldKey.Fingerprint() {
			t.Fatalf("recorded %q after a refused rotation", got)
		}
	})
}

func TestRotateStopsOnSecretsNoKeyOpens(t *testing.T) {
	stores(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		oldKey, newKey, stray := box(t, 1), box(t, 2), box(t, 3)
		f := newFixture(t, st, oldKey, 2)
		f.add(t, stray, "whsec_under_a_key_nobody_gave")
		_, err := Rotate(ctx, st, oldKey, newKey, Options{})
		if !errors.Is(err, ErrUndecryptable) {
			t.Fatalf("err = %v, want ErrUndecryptable", err)
		}
		// The old key stays recorded: nothing may drop it yet.
		if set := ParseSet(recorded(t, st)); !set.Has(oldKey.Fingerprint()) || !set.Has(newKey.Fingerprint()) {
			t.Fatalf("recorded %v, want old and new", set)
		}
		// Given the stray key as a previous key, the rotation finishes.
		if _, err := Rotate(ctx, st, box(t, 1, 3), newKey, Options{}); err != nil {
			t.Fatal(err)
		}
		f.sealedUnder(t, newKey)
	})
}

func TestRotateRefusesWhenTheStoreRecordsAnUnknownKey(t *testing.T) {
	stores(t, func(t *testing.T, st store.Store) {
		newFixture(t, st, box(t, 3), 1)
		_, err := Rotate(context.Background(), st, box(t, 1), box(t, 2), Options{})
		if !errors.Is(err, ErrUnknownKey) {
			t.Fatalf("err = %v, want ErrUnknownKey", err)
		}
	})
}

// interfering is a store on which, just before each of the first n
// re-encryptions, a server rotates that webhook's secret (sealing with
// sealer): the rotation's compare-and-swap must lose, and a later pass must
// take care of what the server wrote.
type interfering struct {
	store.Store
	f      *fixture
	sealer *secretbox.Box
	n      int
}

func (s *interfering) ReplaceWebhookSecret(ctx context.Context, id uuid.UUID, old, value []byte) (bool, error) {
	if s.n > 0 {
		s.n--
		secret := fmt.Sprintf("whsec_rotated_meanwhile_%d", s.n)
		if err := s.Store.UpdateWebhook(ctx, s.f.team, id, store.WebhookPatch{SecretEnc: s.sealer.Seal([]byte(secret))}); err != nil {
			return false, err
		}
		s.f.secrets[id] = secret
	}
	return s.Store.ReplaceWebhookSecret(ctx, id, old, value)
}

func TestRotateKeepsSecretsRotatedMeanwhile(t *testing.T) {
	oldKey, newKey := box(t, 1), box(t, 2)
	for name, sealer := range map[string]*secretbox.Box{"by a server with the new key": box(t, 2, 1), "by a server still sealing with the old key": box(t, 1, 2)} {
		t.Run(name, func(t *testing.T) {
			stores(t, func(t *testing.T, st store.Store) {
				f := newFixture(t, st, oldKey, 3)
				res, err := Rotate(context.Background(), &interfering{Store: st, f: f, sealer: sealer, n: 2}, oldKey, newKey, Options{})
				if err != nil {
					t.Fatal(err)
				}
				if res.Passes < 2 {
					t.Fatalf("finished in %d pass(es) although secrets changed under it", res.Passes)
				}
				f.sealedUnder(t, newKey) // the rotated secrets, not the rotation's older copies
			})
		})
	}
}
