package api

import (
	"net/http"
	"time"

	"github.com/hookd/hookd/internal/auth"
	"github.com/hookd/hookd/internal/jsonobj"
	"github.com/hookd/hookd/internal/store"
)

// window is a recover call's [Since, Until).
type window struct{ Since, Until time.Time }

// parseRecoverWindow reads {"since": RFC 3339, "until": RFC 3339 (optional,
// default now)} and checks it: since not after until, and not before the
// retention period (older deliveries are purged, so the window would be
// silently cut). A retention of zero or less keeps everything.
func parseRecoverWindow(body []byte, now time.Time, retention time.Duration) (window, error) {
	obj, err := jsonobj.Decode(body, "since", "until")
	if err != nil {
		return window{}, err
	}
	var w window
	var since, until string
	if err := obj.Required("since", &since); err != nil {
		return w, err
	}
	if w.Since, err = time.Parse(time.RFC3339Nano, since); err != nil {
		return w, jsonobj.Errorf("since", "must be an RFC 3339 date-time such as 2026-02-16T09:00:00Z")
	}
	w.Until = now
	if ok, err := obj.Get("until", &until); err != nil {
		return w, err
	} else if ok {
		if w.Until, err = time.Parse(time.RFC3339Nano, until); err != nil {
			return w, jsonobj.Errorf("until", "must be an RFC 3339 date-time such as 2026-02-16T10:00:00Z")
		}
	}
	w.Since, w.Until = w.Since.UTC(), w.Until.UTC()
	switch {
	case w.Since.After(w.Until):
		return w, jsonobj.Errorf("since", "must not be after until (%s)", w.Until.Format(time.RFC3339))
	case retention > 0 && w.Since.Before(now.Add(-retention)):
		return w, jsonobj.Errorf("since", "lies before the retention period (%s): deliveries completed before %s are no longer kept",
			retention, now.Add(-retention).UTC().Format(time.RFC3339))
	}
	return w, nil
}

type recoveredBody struct {
	RecoveredCount int `json:"recovered_count"`
}

// recoverDeliveries: every delivery of the webhook that ended failed in the
// window gets one redelivery (at most one, however often it is called). The
// call only claims them; the redeliveries are created in the background and
// delivered at the webhook's pace, so a window of any size answers at once.
func (s *Server) recoverDeliveries(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	webhookID, err := webhookRequest(r, p, auth.ActManageWebhooks)
	if err != nil {
		return err
	}
	body, err := readJSONBody(r, maxManagementBody, true)
	if err != nil {
		return err
	}
	now := s.Now().UTC()
	win, err := parseRecoverWindow(body, now, s.Retention)
	if err != nil {
		return err
	}
	id, err := store.NewID(now)
	if err != nil {
		return err
	}
	n, err := s.Store.Recover(r.Context(), store.Recovery{ID: id, TeamID: p.TeamID, WebhookID: webhookID,
		Since: win.Since, Until: win.Until, CreatedAt: now})
	if err != nil {
		return webhookNotFound(err)
	}
	if n > 0 && s.Recoveries != nil {
		s.Recoveries.WakeRecoveries()
	}
	writeJSON(w, http.StatusAccepted, recoveredBody{RecoveredCount: n})
	return nil
}
