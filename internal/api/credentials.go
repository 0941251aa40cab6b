package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/hookd/hookd/internal/auth"
	"github.com/hookd/hookd/internal/jsonobj"
	"github.com/hookd/hookd/internal/store"
)

type credentialView struct {
	ID          string  `json:"id"`
	Kind        string  `json:"kind"`
	DisplayName string  `json:"display_name"`
	KeyPrefix   string  `json:"key_prefix"`
	UserID      *string `json:"user_id"`
	KeyStatus   string  `json:"key_status"`
	CreatedAt   string  `json:"created_at"`
	LastUsedAt  *string `json:"last_used_at"`
	ExpiresAt   *string `json:"expires_at"`
}

// keyStatus derives active, revoked or expired; revocation wins.
func keyStatus(c store.Credential, now time.Time) string {
	switch {
	case c.RevokedAt != nil:
		return "revoked"
	case c.ExpiresAt != nil && !now.Before(*c.ExpiresAt):
		return "expired"
	default:
		return "active"
	}
}

func viewCredential(c store.Credential, now time.Time) credentialView {
	v := credentialView{
		ID: c.ID.String(), Kind: c.Kind, DisplayName: c.DisplayName, KeyPrefix: c.KeyPrefix,
		KeyStatus: keyStatus(c, now), CreatedAt: timestamp(c.CreatedAt),
		LastUsedAt: timestampPtr(c.LastUsedAt), ExpiresAt: timestampPtr(c.ExpiresAt),
	}
	if c.UserID != uuid.Nil {
		u := c.UserID.String()
		v.UserID = &u
	}
	return v
}

func (s *Server) createCredential(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := require(p, auth.ActManageCredentials); err != nil {
		return err
	}
	body, err := readJSONBody(r, maxManagementBody, true)
	if err != nil {
		return err
	}
	obj, err := jsonobj.Decode(body, "kind", "display_name", "expires_in_days")
	if err != nil {
		return err
	}
	var kind, name string
	var days int
	if ok, err := obj.Get("kind", &kind); err != nil {
		return err
	} else if !ok {
		return badRequest("kind: is required")
	} else if kind != store.KindIntegration {
		return badRequest("kind: must be integration (device keys are created with the hookd command line)")
	}
	if ok, err := obj.Get("display_name", &name); err != nil {
		return err
	} else if !ok {
		return badRequest("display_name: is required")
	} else if err := jsonobj.CheckName("display_name", name, 100); err != nil {
		return err
	}
	hasExpiry, err := obj.Get("expires_in_days", &days)
	if err != nil {
		return err
	}
	if hasExpiry && (days < 1 || days > 365) {
		return badRequest("expires_in_days: must be an integer from 1 to 365")
	}
	now := s.Now().UTC().Truncate(time.Microsecond)
	cred, raw, err := auth.NewCredential(p.TeamID, p.UserID, kind, name, now, days)
	if err != nil {
		return err
	}
	if err := s.Store.CreateCredential(r.Context(), cred); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, newCredentialBody(cred, raw))
	return nil
}

// newCredentialAnswer is the one answer that shows a raw key (SPEC §2).
type newCredentialAnswer struct {
	ID        string `json:"id"`
	Kind      string `json:"kind"`
	KeyPrefix string `json:"key_prefix"`
	RawKey    string `json:"raw_key"`
}

func newCredentialBody(c store.Credential, raw string) newCredentialAnswer {
	return newCredentialAnswer{ID: c.ID.String(), Kind: c.Kind, KeyPrefix: c.KeyPrefix, RawKey: raw}
}

func (s *Server) listCredentials(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := require(p, auth.ActManageCredentials); err != nil {
		return err
	}
	q := r.URL.Query()
	page, err := parsePage(q)
	if err != nil {
		return err
	}
	kind, err := enumQuery(q, "kind", store.KindIntegration, store.KindDevice)
	if err != nil {
		return err
	}
	creds, total, err := s.Store.ListCredentials(r.Context(), p.TeamID, kind, page)
	if err != nil {
		return err
	}
	now := s.Now()
	list := make([]credentialView, 0, len(creds))
	for _, c := range creds {
		list = append(list, viewCredential(c, now))
	}
	writeJSON(w, http.StatusOK, struct {
		Credentials []credentialView `json:"credentials"`
		PageMeta    pageMeta         `json:"page_meta"`
	}{list, meta(page, total)})
	return nil
}

func (s *Server) revokeCredential(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "credentialId")
	if err != nil {
		return err
	}
	if err := require(p, auth.ActManageCredentials); err != nil {
		return err
	}
	if err := s.Store.RevokeCredential(r.Context(), p.TeamID, id, s.Now().UTC()); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return notFound("credential")
		}
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
