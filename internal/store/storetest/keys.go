package storetest

import (
	"bytes"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/hookd/hookd/internal/store"
)

// The store side of `hookd keys rotate-master`: a compare-and-swap on the
// recorded key fingerprints, a walk over every team's sealed secrets, and a
// compare-and-swap on each secret so that a rotate-secret made meanwhile
// is never overwritten with an older secret.
func keyCases() []testCase {
	return []testCase{
		{"SwapMetaOnlyFromTheExpectedValue", func(t *testing.T, s store.Store) {
			ok, err := s.SwapMeta(ctx(t), "fp", "", "a")
			if err != nil || !ok {
				t.Fatalf("SwapMeta of an absent key from \"\" = %v, %v; want it created", ok, err)
			}
			if ok, err := s.SwapMeta(ctx(t), "fp", "", "b"); err != nil || ok {
				t.Fatalf("SwapMeta from \"\" of a present key = %v, %v; want refused", ok, err)
			}
			if ok, err := s.SwapMeta(ctx(t), "fp", "x", "b"); err != nil || ok {
				t.Fatalf("SwapMeta from a stale value = %v, %v; want refused", ok, err)
			}
			if ok, err := s.SwapMeta(ctx(t), "fp", "a", "a,b"); err != nil || !ok {
				t.Fatalf("SwapMeta from the current value = %v, %v; want swapped", ok, err)
			}
			if got, err := s.EnsureMeta(ctx(t), "fp", "zzz"); err != nil || got != "a,b" {
				t.Fatalf("stored value = %q, %v; want a,b", got, err)
			}
			if ok, err := s.SwapMeta(ctx(t), "absent", "a", "b"); err != nil || ok {
				t.Fatalf("SwapMeta of an absent key from a value = %v, %v; want refused", ok, err)
			}
		}},
		{"WebhookSecretsWalksEveryTeamInIDOrder", func(t *testing.T, s store.Store) {
			var want []store.WebhookSecret
			for range 2 {
				team := mkTeam(t, s)
				for _, status := range []string{store.WebhookActive, store.WebhookDisabled, store.WebhookActive} {
					w := mkWebhook(t, s, team.ID, status, "task.completed")
					want = append(want, store.WebhookSecret{ID: w.ID, SecretEnc: w.SecretEnc})
				}
			}
			slices.SortFunc(want, func(a, b store.WebhookSecret) int { return bytes.Compare(a.ID[:], b.ID[:]) })
			var got []store.WebhookSecret
			after := uuid.Nil
			for pages := 0; ; pages++ {
				page, err := s.WebhookSecrets(ctx(t), after, 4)
				must(t, "WebhookSecrets", err)
				if len(page) == 0 {
					if pages != 2 {
						t.Fatalf("6 webhooks in pages of 4 took %d pages", pages)
					}
					break
				}
				got = append(got, page...)
				after = page[len(page)-1].ID
			}
			if len(got) != len(want) {
				t.Fatalf("walked %d webhooks, want %d", len(got), len(want))
			}
			for i := range want {
				if got[i].ID != want[i].ID || !bytes.Equal(got[i].SecretEnc, want[i].SecretEnc) {
					t.Fatalf("webhook %d: got %v %q, want %v %q", i, got[i].ID, got[i].SecretEnc, want[i].ID, want[i].SecretEnc)
				}
			}
		}},
		{"ReplaceWebhookSecretLosesToAConcurrentRotation", func(t *testing.T, s store.Store) {
			team := mkTeam(t, s)
			w := mkWebhook(t, s, team.ID, store.WebhookActive, "task.completed")
			ok, err := s.ReplaceWebhookSecret(ctx(t), w.ID, w.SecretEnc, []byte("resealed-1"))
			if err != nil || !ok {
				t.Fatalf("replace from the current secret = %v, %v; want replaced", ok, err)
			}
			must(t, "rotate-secret", s.UpdateWebhook(ctx(t), team.ID, w.ID, store.WebhookPatch{SecretEnc: []byte("rotated")}))
			if ok, err := s.ReplaceWebhookSecret(ctx(t), w.ID, []byte("resealed-1"), []byte("resealed-2")); err != nil || ok {
				t.Fatalf("replace from a secret rotated meanwhile = %v, %v; want refused", ok, err)
			}
			got, err := s.GetWebhook(ctx(t), team.ID, w.ID)
			must(t, "GetWebhook", err)
			if string(got.SecretEnc) != "rotated" {
				t.Fatalf("secret is %q, want the rotation's", got.SecretEnc)
			}
			must(t, "DeleteWebhook", s.DeleteWebhook(ctx(t), team.ID, w.ID))
			if ok, err := s.ReplaceWebhookSecret(ctx(t), w.ID, []byte("rotated"), []byte("x")); err != nil || ok {
				t.Fatalf("replace on a deleted webhook = %v, %v; want refused", ok, err)
			}
		}},
	}
}
