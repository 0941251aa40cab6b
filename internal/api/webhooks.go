package api

import (
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/hookd/hookd/internal/auth"
	"github.com/hookd/hookd/internal/jsonobj"
	"github.com/hookd/hookd/internal/netguard"
	"github.com/hookd/hookd/internal/secretbox"
	"github.com/hookd/hookd/internal/store"
)

// Event types a webhook can subscribe to (SPEC §3).
var subscribableEvents = []string{"task.completed", "task.failed"}

type webhookView struct {
	ID              string   `json:"id"`
	DisplayName     string   `json:"display_name"`
	WebhookURL      string   `json:"webhook_url"`
	WebhookSecret   string   `json:"webhook_secret,omitempty"`
	WebhookEvents   []string `json:"webhook_events"`
	WebhookStatus   string   `json:"webhook_status"`
	CreatedAt       string   `json:"created_at"`
	LastDeliveredAt *string  `json:"last_delivered_at"`
}

func viewWebhook(wh store.Webhook) webhookView {
	return webhookView{
		ID:              wh.ID.String(),
		DisplayName:     wh.DisplayName,
		WebhookURL:      wh.URL,
		WebhookEvents:   wh.Events,
		WebhookStatus:   wh.Status,
		CreatedAt:       timestamp(wh.CreatedAt),
		LastDeliveredAt: timestampPtr(wh.LastDeliveredAt),
	}
}

// decodeWebhookInput validates the body of create (all fields required) or
// update (only the present fields change) into a patch; policy judges the
// URL. It is pure (no store, no clock), so it is fuzzed on its own.
func decodeWebhookInput(body []byte, create bool, policy *netguard.Policy) (store.WebhookPatch, error) {
	obj, err := jsonobj.Decode(body, "display_name", "webhook_url", "webhook_events", "webhook_status")
	if err != nil {
		return store.WebhookPatch{}, err
	}
	var in store.WebhookPatch
	if create {
		for _, f := range []string{"display_name", "webhook_url", "webhook_events"} {
			if !obj.Has(f) {
				return in, badRequest("%s: is required", f)
			}
		}
		if obj.Has("webhook_status") {
			return in, badRequest("webhook_status: cannot be set at creation (webhooks start active)")
		}
	}
	var name, rawURL, status string
	var events []string
	if ok, err := obj.Get("display_name", &name); err != nil {
		return in, err
	} else if ok {
		if err := jsonobj.CheckName("display_name", name, 255); err != nil {
			return in, err
		}
		in.DisplayName = &name
	}
	if ok, err := obj.Get("webhook_url", &rawURL); err != nil {
		return in, err
	} else if ok {
		if err := policy.CheckURL(rawURL); err != nil {
			return in, badRequest("webhook_url: %v", err)
		}
		in.URL = &rawURL
	}
	if ok, err := obj.Get("webhook_events", &events); err != nil {
		return in, err
	} else if ok {
		if in.Events, err = normalizeEvents(events); err != nil {
			return in, err
		}
	}
	if ok, err := obj.Get("webhook_status", &status); err != nil {
		return in, err
	} else if ok {
		if status != store.WebhookActive && status != store.WebhookDisabled {
			return in, badRequest("webhook_status: must be active or disabled")
		}
		in.Status = &status
	}
	return in, nil
}

// normalizeEvents checks a non-empty list of known events and collapses
// duplicates into a sorted set.
func normalizeEvents(events []string) ([]string, error) {
	if len(events) == 0 {
		return nil, badRequest("webhook_events: must list at least one of %v", subscribableEvents)
	}
	out := make([]string, 0, len(events))
	for _, e := range events {
		if !slices.Contains(subscribableEvents, e) {
			return nil, badRequest("webhook_events: unknown event %q (known: %v)", e, subscribableEvents)
		}
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	slices.Sort(out)
	return out, nil
}

func newWebhookSecret() (string, error) { return secretbox.GenerateSecret("whsec_", 32) }

func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := require(p, auth.ActManageWebhooks); err != nil {
		return err
	}
	body, err := readJSONBody(r, maxManagementBody, true)
	if err != nil {
		return err
	}
	in, err := decodeWebhookInput(body, true, s.Policy)
	if err != nil {
		return err
	}
	secret, err := newWebhookSecret()
	if err != nil {
		return err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return err
	}
	wh := store.Webhook{
		ID: id, TeamID: p.TeamID, DisplayName: *in.DisplayName, URL: *in.URL,
		SecretEnc: s.Box.Seal([]byte(secret)), Events: in.Events,
		Status: store.WebhookActive, CreatedAt: s.Now().UTC().Truncate(time.Microsecond),
	}
	if err := s.Store.CreateWebhook(r.Context(), wh); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, struct {
		ID            string `json:"id"`
		WebhookSecret string `json:"webhook_secret"`
	}{id.String(), secret})
	return nil
}

func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := require(p, auth.ActListWebhooks); err != nil {
		return err
	}
	q := r.URL.Query()
	page, err := parsePage(q)
	if err != nil {
		return err
	}
	status, err := enumQuery(q, "webhook_status", store.WebhookActive, store.WebhookDisabled)
	if err != nil {
		return err
	}
	hooks, total, err := s.Store.ListWebhooks(r.Context(), p.TeamID, status, page)
	if err != nil {
		return err
	}
	list := make([]webhookView, 0, len(hooks))
	for _, wh := range hooks {
		list = append(list, viewWebhook(wh))
	}
	writeJSON(w, http.StatusOK, struct {
		WebhookList []webhookView `json:"webhook_list"`
		PageMeta    pageMeta      `json:"page_meta"`
	}{list, meta(page, total)})
	return nil
}

// webhookNotFound turns the store's not-found into the API's; another
// team's id is 404, never 403.
func webhookNotFound(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return notFound("webhook")
	}
	return err
}

func (s *Server) getWebhook(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := webhookRequest(r, p, auth.ActGetWebhook)
	if err != nil {
		return err
	}
	wh, err := s.Store.GetWebhook(r.Context(), p.TeamID, id)
	if err != nil {
		return webhookNotFound(err)
	}
	secret, err := s.Box.Open(wh.SecretEnc)
	if err != nil {
		return err
	}
	v := viewWebhook(wh)
	v.WebhookSecret = string(secret)
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) updateWebhook(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := webhookRequest(r, p, auth.ActManageWebhooks)
	if err != nil {
		return err
	}
	body, err := readJSONBody(r, maxManagementBody, true)
	if err != nil {
		return err
	}
	in, err := decodeWebhookInput(body, false, s.Policy)
	if err != nil {
		return err
	}
	if err := s.Store.UpdateWebhook(r.Context(), p.TeamID, id, in); err != nil {
		return webhookNotFound(err)
	}
	writeJSON(w, http.StatusOK, idBody{ID: id.String()})
	return nil
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := webhookRequest(r, p, auth.ActManageWebhooks)
	if err != nil {
		return err
	}
	if err := s.Store.DeleteWebhook(r.Context(), p.TeamID, id); err != nil {
		return webhookNotFound(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// rotateSecret replaces the secret at once: the next attempt of every
// pending delivery, retries included, signs with the new one.
func (s *Server) rotateSecret(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := webhookRequest(r, p, auth.ActManageWebhooks)
	if err != nil {
		return err
	}
	if err := noBody(r); err != nil {
		return err
	}
	secret, err := newWebhookSecret()
	if err != nil {
		return err
	}
	patch := store.WebhookPatch{SecretEnc: s.Box.Seal([]byte(secret))}
	if err := s.Store.UpdateWebhook(r.Context(), p.TeamID, id, patch); err != nil {
		return webhookNotFound(err)
	}
	writeJSON(w, http.StatusOK, struct {
		WebhookSecret string `json:"webhook_secret"`
	}{secret})
	return nil
}
