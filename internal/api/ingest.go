package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"

	"github.com/hookd/hookd/internal/auth"
	"github.com/hookd/hookd/internal/ingest"
)

var errIngestUnauthorized = &Error{Status: http.StatusUnauthorized, Code: "unauthorized",
	Message: "Authorization: a valid ingest bearer token is required"}

// checkIngestToken compares in constant time (over hashes, so the length of
// the token does not leak either). No configured token: everyone is 401.
func (s *Server) checkIngestToken(r *http.Request) error {
	if s.IngestToken == "" {
		return errIngestUnauthorized
	}
	scheme, got, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	ok = ok && strings.EqualFold(scheme, "Bearer")
	want := sha256.Sum256([]byte(s.IngestToken))
	have := sha256.Sum256([]byte(got))
	if !ok || subtle.ConstantTimeCompare(want[:], have[:]) != 1 {
		return errIngestUnauthorized
	}
	return nil
}

type ingestAnswer struct {
	EventID       string `json:"event_id"`
	DeliveryCount int    `json:"delivery_count"`
}

// ingestOne: 202 for a new event, 200 with the original answer for a repeat.
func (s *Server) ingestOne(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	body, err := readJSONBody(r, maxIngestBody, true)
	if err != nil {
		return err
	}
	ev, err := ingest.Parse(body)
	if err != nil {
		return err
	}
	results, err := s.Ingest.Ingest(r.Context(), []ingest.TaskEvent{ev})
	if err != nil {
		return err
	}
	res := results[0]
	if res.Err != nil {
		return ingestError(res.Err)
	}
	status := http.StatusAccepted
	if res.Duplicate {
		status = http.StatusOK
	}
	writeJSON(w, status, ingestAnswer{EventID: res.EventID.String(), DeliveryCount: res.DeliveryCount})
	return nil
}

func ingestError(err error) error {
	if errors.Is(err, ingest.ErrConflict) {
		return &Error{Status: http.StatusConflict, Code: "conflict", Message: err.Error()}
	}
	return err
}

type batchResult struct {
	EventID       string `json:"event_id,omitempty"`
	DeliveryCount *int   `json:"delivery_count,omitempty"`
	Duplicate     *bool  `json:"duplicate,omitempty"`
	Status        int    `json:"status,omitempty"`
	ErrorMessage  string `json:"error_message,omitempty"`
}

// ingestBatch accepts valid events even when others in the batch fail; the
// results are in input order.
func (s *Server) ingestBatch(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	body, err := readJSONBody(r, maxIngestBatch, true)
	if err != nil {
		return err
	}
	parsed, errs, err := ingest.ParseBatch(body)
	if err != nil {
		return err
	}
	out := make([]batchResult, len(parsed))
	events := make([]ingest.TaskEvent, 0, len(parsed))
	pos := make([]int, 0, len(parsed))
	for i, ev := range parsed {
		if errs[i] != nil {
			out[i] = batchResult{Status: http.StatusBadRequest, ErrorMessage: ingest.ItemError(i, errs[i])}
			continue
		}
		events = append(events, ev)
		pos = append(pos, i)
	}
	results, err := s.Ingest.Ingest(r.Context(), events)
	if err != nil {
		s.Instruments.events(outcomeInvalid, len(parsed)-len(events))
		s.Instruments.events(outcomeError, len(events))
		return err
	}
	for j, res := range results {
		i := pos[j]
		switch {
		case errors.Is(res.Err, ingest.ErrConflict):
			out[i] = batchResult{Status: http.StatusConflict, ErrorMessage: res.Err.Error()}
		case res.Err != nil:
			out[i] = batchResult{Status: http.StatusBadRequest, ErrorMessage: ingest.ItemError(i, res.Err)}
		default:
			n, dup := res.DeliveryCount, res.Duplicate
			out[i] = batchResult{EventID: res.EventID.String(), DeliveryCount: &n, Duplicate: &dup}
		}
	}
	tally := map[string]int{}
	for _, res := range out {
		tally[batchOutcome(res)]++
	}
	for outcome, n := range tally {
		s.Instruments.events(outcome, n)
	}
	writeJSON(w, http.StatusOK, struct {
		Results []batchResult `json:"results"`
	}{out})
	return nil
}

// batchOutcome is the outcome of one event of a batch, by its result.
func batchOutcome(r batchResult) string {
	switch {
	case r.Status == http.StatusConflict:
		return outcomeConflict
	case r.Status != 0:
		return outcomeInvalid
	case r.Duplicate != nil && *r.Duplicate:
		return outcomeDuplicate
	default:
		return outcomeAccepted
	}
}
