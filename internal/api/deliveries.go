package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/hookd/hookd/internal/auth"
	"github.com/hookd/hookd/internal/payload"
	"github.com/hookd/hookd/internal/store"
)

type deliveryView struct {
	ID             string  `json:"id"`
	EventType      string  `json:"event_type"`
	TaskID         string  `json:"task_id"`
	DeliveryStatus string  `json:"delivery_status"`
	AttemptCount   int     `json:"attempt_count"`
	NextAttemptAt  *string `json:"next_attempt_at"`
	LastStatusCode *int    `json:"last_status_code"`
	LastError      *string `json:"last_error"`
	CreatedAt      string  `json:"created_at"`
	CompletedAt    *string `json:"completed_at"`
}

type attemptView struct {
	AttemptNumber int     `json:"attempt_number"`
	StartedAt     string  `json:"started_at"`
	DurationMS    int64   `json:"duration_ms"`
	StatusCode    *int    `json:"status_code"`
	Error         *string `json:"error"`
	ResponseBody  string  `json:"response_body"`
}

type deliveryDetailView struct {
	deliveryView
	RequestBody string        `json:"request_body"`
	Attempts    []attemptView `json:"attempts"`
}

func viewDelivery(d store.Delivery) deliveryView {
	return deliveryView{
		ID: d.ID.String(), EventType: d.EventType, TaskID: d.TaskID.String(), DeliveryStatus: d.Status,
		AttemptCount: d.AttemptCount, NextAttemptAt: timestampPtr(d.NextAttemptAt),
		LastStatusCode: d.LastStatusCode, LastError: d.LastError,
		CreatedAt: timestamp(d.CreatedAt), CompletedAt: timestampPtr(d.CompletedAt),
	}
}

var deliveryStatuses = []string{store.StatusPending, store.StatusSucceeded, store.StatusFailed, store.StatusCanceled}

func (s *Server) listDeliveries(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	webhookID, err := webhookRequest(r, p, auth.ActListDeliveries)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	page, err := parsePage(q)
	if err != nil {
		return err
	}
	var f store.DeliveryFilter
	if f.Status, err = enumQuery(q, "delivery_status", deliveryStatuses...); err != nil {
		return err
	}
	if v, ok := q["task_id"]; ok {
		if f.TaskID, err = parseID(v[0], "task_id"); err != nil {
			return err
		}
	}
	list, total, err := s.Store.ListDeliveries(r.Context(), p.TeamID, webhookID, f, page)
	if err != nil {
		return webhookNotFound(err)
	}
	views := make([]deliveryView, 0, len(list))
	for _, d := range list {
		views = append(views, viewDelivery(d))
	}
	writeJSON(w, http.StatusOK, struct {
		DeliveryList []deliveryView `json:"delivery_list"`
		PageMeta     pageMeta       `json:"page_meta"`
	}{views, meta(page, total)})
	return nil
}

// deliveryRequest parses both ids of a delivery route, then checks the
// caller may perform the action.
func deliveryRequest(r *http.Request, p auth.Principal, a auth.Action) (webhookID, deliveryID uuid.UUID, err error) {
	if webhookID, err = pathID(r, "webhookId"); err != nil {
		return
	}
	if deliveryID, err = pathID(r, "deliveryId"); err != nil {
		return
	}
	err = require(p, a)
	return
}

func deliveryNotFound(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return notFound("delivery")
	}
	return err
}

func (s *Server) getDelivery(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	webhookID, deliveryID, err := deliveryRequest(r, p, auth.ActListDeliveries)
	if err != nil {
		return err
	}
	d, err := s.Store.GetDelivery(r.Context(), p.TeamID, webhookID, deliveryID)
	if err != nil {
		return deliveryNotFound(err)
	}
	v := deliveryDetailView{deliveryView: viewDelivery(d.Delivery), RequestBody: string(d.RequestBody),
		Attempts: make([]attemptView, 0, len(d.Attempts))}
	for _, a := range d.Attempts {
		v.Attempts = append(v.Attempts, attemptView{
			AttemptNumber: a.AttemptNumber, StartedAt: timestamp(a.StartedAt), DurationMS: a.DurationMS,
			StatusCode: a.StatusCode, Error: a.Error, ResponseBody: a.ResponseBody,
		})
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) redeliver(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	webhookID, deliveryID, err := deliveryRequest(r, p, auth.ActManageWebhooks)
	if err != nil {
		return err
	}
	if err := noBody(r); err != nil {
		return err
	}
	id, err := s.Store.Redeliver(r.Context(), p.TeamID, webhookID, deliveryID, s.Now().UTC())
	if err != nil {
		return deliveryNotFound(err)
	}
	s.wake()
	writeJSON(w, http.StatusAccepted, idBody{ID: id.String()})
	return nil
}

// testWebhook sends a webhook.test event in the six-field shape, signed like
// any other delivery.
func (s *Server) testWebhook(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	webhookID, err := webhookRequest(r, p, auth.ActManageWebhooks)
	if err != nil {
		return err
	}
	if err := noBody(r); err != nil {
		return err
	}
	ev, err := testEvent(p.TeamID, s.Now())
	if err != nil {
		return err
	}
	id, err := s.Store.CreateTestDelivery(r.Context(), p.TeamID, webhookID, ev)
	if err != nil {
		return webhookNotFound(err)
	}
	s.wake()
	writeJSON(w, http.StatusAccepted, idBody{ID: id.String()})
	return nil
}

func testEvent(teamID uuid.UUID, now time.Time) (store.NewEvent, error) {
	eventID, err := store.NewID(now)
	if err != nil {
		return store.NewEvent{}, err
	}
	taskID, err := uuid.NewV7()
	if err != nil {
		return store.NewEvent{}, err
	}
	output := []byte(`{"storage_key":"tasks/` + taskID.String() + `/output.png","image_count":1}`)
	body, err := payload.Render("webhook.test", taskID, "completed", output, "", now)
	if err != nil {
		return store.NewEvent{}, err
	}
	return store.NewEvent{ID: eventID, TeamID: teamID, TaskID: taskID, EventType: "webhook.test",
		TaskStatus: "completed", Body: body, CreatedAt: now.UTC().Truncate(time.Microsecond)}, nil
}

func (s *Server) wake() {
	if s.Waker != nil {
		s.Waker.Wake()
	}
}
