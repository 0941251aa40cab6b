package api

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/hookd/hookd/internal/jsonobj"
	"github.com/hookd/hookd/internal/netguard"
	"github.com/hookd/hookd/internal/store"
)

// FuzzDecodeWebhookInput: a create or update body becomes a patch whose
// every field obeys SPEC §3 (and can be stored in a PostgreSQL text
// column), or a 400 naming a field or the body. The seed corpus is in
// testdata/fuzz/FuzzDecodeWebhookInput/.
func FuzzDecodeWebhookInput(f *testing.F) {
	policy, err := netguard.NewPolicy(nil)
	if err != nil {
		f.Fatal(err)
	}
	fields := []string{"display_name", "webhook_url", "webhook_events", "webhook_status"}
	f.Fuzz(func(t *testing.T, body []byte, create bool) {
		in, err := decodeWebhookInput(body, create, policy)
		if err != nil {
			msg := badRequestMessage(t, err)
			named := strings.HasPrefix(msg, "request body")
			for _, f := range fields {
				named = named || strings.HasPrefix(msg, f+": ")
			}
			var in *jsonobj.Error
			if errors.As(err, &in) && in.Field != "" {
				named = true // a key of the body, known or not
			}
			if !named {
				t.Fatalf("error %q names neither a field nor the body", msg)
			}
			return
		}
		if !utf8.Valid(body) {
			t.Fatalf("body with invalid UTF-8 accepted: %q", body)
		}
		if create && (in.DisplayName == nil || in.URL == nil || in.Events == nil || in.Status != nil) {
			t.Fatalf("create patch is incomplete: %+v", in)
		}
		if in.SecretEnc != nil {
			t.Fatal("a body set the secret")
		}
		if in.DisplayName != nil {
			name := *in.DisplayName
			if n := utf8.RuneCountInString(name); n < 1 || n > 255 || !utf8.ValidString(name) || strings.ContainsRune(name, 0) {
				t.Fatalf("display_name %q accepted", name)
			}
		}
		if in.URL != nil {
			u := *in.URL
			if policy.CheckURL(u) != nil || !strings.HasPrefix(strings.ToLower(u), "https://") ||
				!utf8.ValidString(u) || strings.ContainsRune(u, 0) {
				t.Fatalf("webhook_url %q accepted", u)
			}
		}
		if in.Events != nil {
			if len(in.Events) == 0 || !slices.IsSorted(in.Events) || len(slices.Compact(slices.Clone(in.Events))) != len(in.Events) {
				t.Fatalf("webhook_events %q not a sorted non-empty set", in.Events)
			}
			for _, e := range in.Events {
				if !slices.Contains(subscribableEvents, e) {
					t.Fatalf("unknown event %q accepted", e)
				}
			}
		}
		if in.Status != nil && *in.Status != store.WebhookActive && *in.Status != store.WebhookDisabled {
			t.Fatalf("webhook_status %q accepted", *in.Status)
		}
	})
}

// badRequestMessage asserts err is answered 400 and returns its message.
func badRequestMessage(t *testing.T, err error) string {
	t.Helper()
	var apiErr *Error
	var in *jsonobj.Error
	switch {
	case errors.As(err, &apiErr):
		if apiErr.Status != http.StatusBadRequest {
			t.Fatalf("status %d for %v", apiErr.Status, err)
		}
		return apiErr.Message
	case errors.As(err, &in):
		return in.Error()
	}
	t.Fatalf("error %T %v would be a 500", err, err)
	return ""
}
