// Package store is hookd's persistence boundary: one interface, two
// implementations (sqlite/ for the embedded default, postgres/ for scale-out)
// and one shared test suite (storetest/) that both must pass.
//
// The deliveries table is the queue and the log at once. A delivery is
// born pending in the same transaction as its event (IngestEvents), is leased
// by a dispatcher (Lease) for a bounded time, and leaves the lease through
// RecordOutcomes (new state, plus an attempt row for every attempt that did
// not end the delivery in success) or ReleaseLeases (shutdown).
//
// A lease is the pair (owner, until), and leasing is a visibility timeout: a
// pending row's queue position (queue_at) is its due time while it is free and
// its lease expiry while it is leased, so the due-order index never shows a
// row in flight. Crash recovery comes from liveness first: every process
// running deliveries registers an owner identity (Register) whose proof of
// life the store can check (an OS file lock on the embedded store, a session
// advisory lock on PostgreSQL); ReapDeadOwners voids the leases of owners
// whose proof is gone, within seconds. A lease that simply expires is the
// last resort: the row becomes due again and any process may take it.
//
// Writes that matter for durability (ingest, outcomes) are group-committed:
// concurrent callers share one transaction and one flush.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
)

var (
	// ErrNotFound: no such row (in the caller's team, where team-scoped).
	ErrNotFound = errors.New("store: not found")
	// ErrConflict: a uniqueness or state rule refused the write.
	ErrConflict = errors.New("store: conflict")
	// ErrWebhookDisabled: redeliver or test on a disabled webhook.
	ErrWebhookDisabled = errors.New("store: webhook disabled")
	// ErrKeyMismatch: a different master key fingerprint is recorded.
	ErrKeyMismatch = errors.New("store: master key fingerprint mismatch")
	// ErrInvalidWindow: a recovery window the store cannot honour.
	ErrInvalidWindow = errors.New("store: invalid recovery window")
)

// Delivery states.
const (
	StatusPending   = "pending"
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
	StatusCanceled  = "canceled"
)

// Webhook states.
const (
	WebhookActive   = "active"
	WebhookDisabled = "disabled"
)

// Credential kinds.
const (
	KindIntegration = "integration"
	KindDevice      = "device"
)

// Page selects a page of a newest-first list. Number starts at 1.
type Page struct {
	Number int
	Size   int
}

// Offset is the number of rows before the page.
func (p Page) Offset() int { return (p.Number - 1) * p.Size }

type Team struct {
	ID          uuid.UUID
	DisplayName string
	CreatedAt   time.Time
}

type Member struct {
	TeamID    uuid.UUID
	UserID    uuid.UUID
	Role      string // owner | admin | member | viewer
	CreatedAt time.Time
}

type Credential struct {
	ID          uuid.UUID
	TeamID      uuid.UUID
	UserID      uuid.UUID // uuid.Nil for integration keys
	Kind        string    // KindIntegration | KindDevice
	DisplayName string
	KeyPrefix   string // first 12 characters of the raw key
	KeyHash     []byte // SHA-256 of the raw key; unique
	CreatedAt   time.Time
	LastUsedAt  *time.Time
	ExpiresAt   *time.Time
	RevokedAt   *time.Time
}

type Webhook struct {
	ID              uuid.UUID
	TeamID          uuid.UUID
	DisplayName     string
	URL             string
	SecretEnc       []byte   // AES-256-GCM ciphertext of the secret; the store never sees plaintext
	Events          []string // sorted, unique
	Status          string   // WebhookActive | WebhookDisabled
	CreatedAt       time.Time
	LastDeliveredAt *time.Time
}

// WebhookSecret is a webhook's sealed secret, for a master-key rotation.
type WebhookSecret struct {
	ID        uuid.UUID
	SecretEnc []byte
}

// WebhookPatch changes only the non-nil fields.
type WebhookPatch struct {
	DisplayName *string
	URL         *string
	Events      []string // nil: unchanged
	Status      *string
	SecretEnc   []byte // nil: unchanged (rotate-secret sets it)
}

// NewEvent is one task event ready to be written: validated, body rendered.
// ID is a UUIDv7 made at CreatedAt (NewID): retention finds old events by id.
type NewEvent struct {
	ID         uuid.UUID
	TeamID     uuid.UUID
	TaskID     uuid.UUID
	EventType  string // task.completed | task.failed | webhook.test
	TaskStatus string // completed | failed
	Body       []byte // the exact bytes every attempt sends
	CreatedAt  time.Time
}

// IngestResult answers one NewEvent, in input order.
type IngestResult struct {
	EventID       uuid.UUID
	DeliveryCount int
	Duplicate     bool  // the task was seen before with the same status: original event returned
	Err           error // ErrConflict: seen before with another status or under another team
	// Leased holds the deliveries this ingest inserted already leased to
	// IngestOptions.Lease.Owner (only those Admit accepted).
	Leased []LeasedDelivery
}

// IngestOptions lets the ingest transaction lease the deliveries it creates
// to the calling process, so they go straight to the lanes after commit
// without a second lease round trip.
type IngestOptions struct {
	Lease *LeaseRequest // Owner, Until and Admit are used; nil: insert unleased
}

// LeaseRequest asks for due deliveries.
type LeaseRequest struct {
	Owner string    // this process's identity (Registration.Owner)
	Now   time.Time // due means queue_at <= Now: free and due, or its lease expired
	Until time.Time // lease expiry written to leased rows (microsecond precision)
	Limit int       // at most this many
	// Exclude lists webhooks whose lanes are full: their rows are skipped.
	Exclude []uuid.UUID
	// Admit is called in due order (inside the store's transaction, so it must
	// be quick and must not call the store) for each candidate; a row is leased
	// only if Admit returns true. Admit reserves a lane slot. Nil admits all.
	Admit func(webhookID uuid.UUID) bool
}

// LeasedDelivery is everything a sender needs for one attempt, read in the
// same statement as the lease so a rotation, disable or delete applies to the
// very next attempt.
type LeasedDelivery struct {
	DeliveryID   uuid.UUID
	EventID      uuid.UUID
	WebhookID    uuid.UUID
	TeamID       uuid.UUID
	EventType    string
	AttemptCount int // attempts already recorded
	Body         []byte
	URL          string
	SecretEnc    []byte
	Owner        string    // the lease: owner and expiry, as written
	LeaseUntil   time.Time // (microsecond precision, UTC)
}

// LeaseResult is one lease round.
type LeaseResult struct {
	Deliveries []LeasedDelivery
	// NextDue is when the dispatcher should look again: at or before Now when
	// due work was left behind (a refused or cut window), else the earliest
	// queue position after Now (a retry, or a lease that may expire), nil when
	// nothing is pending.
	NextDue *time.Time
}

type Attempt struct {
	DeliveryID    uuid.UUID
	AttemptNumber int // 1-based
	StartedAt     time.Time
	DurationMS    int64
	StatusCode    *int    // nil: no HTTP response
	Error         *string // nil: none
	ResponseBody  string  // at most 4 KiB
}

// Outcome is the recorded result of one attempt.
type Outcome struct {
	DeliveryID uuid.UUID
	WebhookID  uuid.UUID
	// Owner and LeaseUntil are the lease the attempt was made under: the
	// state changes only while that very lease is held.
	Owner      string
	LeaseUntil time.Time
	Attempt    Attempt
	Succeeded  bool
	// NextAttemptAt: when the attempt failed and another is due; nil on a
	// failed attempt means the delivery is now failed for good.
	NextAttemptAt *time.Time
	FinishedAt    time.Time
}

// Transition is the delivery state an outcome leads to, written once for
// both stores: succeeded; pending again with the retry's due time; or failed
// for good. Next is nil unless pending; Completed is nil while pending.
func Transition(o Outcome) (status string, next, completed *time.Time) {
	finished := o.FinishedAt
	switch {
	case o.Succeeded:
		return StatusSucceeded, nil, &finished
	case o.NextAttemptAt != nil:
		at := *o.NextAttemptAt
		return StatusPending, &at, nil
	default:
		return StatusFailed, nil, &finished
	}
}

// Registration is one process's identity as a lease owner, with its proof of
// life held by the store (see Register).
type Registration interface {
	// Owner is the identity to lease under.
	Owner() string
	// Lost is closed when the proof of life is gone for good (on PostgreSQL:
	// the session holding it died and could not take it back in time). Other
	// processes may then void this owner's leases: the holder must stop
	// starting attempts under it, abandon those in flight, and register anew.
	Lost() <-chan struct{}
	// Close gives the identity up (shutdown): its leases become voidable.
	Close() error
}

// Recovery is one accepted recover call (POST …/deliveries/recover).
type Recovery struct {
	ID        uuid.UUID
	TeamID    uuid.UUID
	WebhookID uuid.UUID
	Since     time.Time
	Until     time.Time
	Count     int // failed deliveries claimed by this recovery
	CreatedAt time.Time
}

type Delivery struct {
	ID             uuid.UUID
	EventID        uuid.UUID
	WebhookID      uuid.UUID
	TeamID         uuid.UUID
	EventType      string
	TaskID         uuid.UUID
	Status         string
	AttemptCount   int
	NextAttemptAt  *time.Time // nil once terminal; the due time, also while leased
	LastStatusCode *int
	LastError      *string
	CreatedAt      time.Time
	CompletedAt    *time.Time
}

type DeliveryDetail struct {
	Delivery
	RequestBody []byte
	Attempts    []Attempt // by attempt number
}

type DeliveryFilter struct {
	Status string    // "" any
	TaskID uuid.UUID // uuid.Nil any
}

// Store is implemented by sqlite.Store and postgres.Store. Team-scoped
// methods return ErrNotFound for a row of another team. Lists are newest
// first and also return the total count.
type Store interface {
	// Health and metadata.
	Ping(ctx context.Context) error
	Close() error
	// EnsureMeta stores value under key when absent and returns the value now
	// stored (the old one when present).
	EnsureMeta(ctx context.Context, key, value string) (string, error)
	// SwapMeta sets key to value only if it holds old now (old "" means the
	// key is absent) and reports whether it did: a compare-and-swap, so
	// processes that change the same key at once cannot lose an update.
	SwapMeta(ctx context.Context, key, old, value string) (bool, error)

	// Teams and members (administration commands, auth).
	CreateTeam(ctx context.Context, t Team) error
	GetTeam(ctx context.Context, id uuid.UUID) (Team, error)
	// PutMember adds a member or changes their role. ErrNotFound: no such team.
	PutMember(ctx context.Context, m Member) error
	GetMember(ctx context.Context, teamID, userID uuid.UUID) (Member, error)

	// Credentials.
	CreateCredential(ctx context.Context, c Credential) error
	GetCredentialByHash(ctx context.Context, hash []byte) (Credential, error)
	ListCredentials(ctx context.Context, teamID uuid.UUID, kind string, p Page) ([]Credential, int, error)
	RevokeCredential(ctx context.Context, teamID, id uuid.UUID, at time.Time) error
	TouchCredential(ctx context.Context, id uuid.UUID, at time.Time) error

	// Webhooks.
	CreateWebhook(ctx context.Context, w Webhook) error
	GetWebhook(ctx context.Context, teamID, id uuid.UUID) (Webhook, error)
	ListWebhooks(ctx context.Context, teamID uuid.UUID, status string, p Page) ([]Webhook, int, error)
	// UpdateWebhook applies the patch; setting Status to disabled cancels the
	// webhook's pending deliveries in the same transaction.
	UpdateWebhook(ctx context.Context, teamID, id uuid.UUID, p WebhookPatch) error
	// DeleteWebhook removes the webhook and cancels its pending deliveries
	// (the delivery log of a deleted webhook is no longer reachable by API).
	DeleteWebhook(ctx context.Context, teamID, id uuid.UUID) error
	// WebhookSecrets lists at most limit webhooks of every team whose id is
	// after `after` (uuid.Nil: from the first), in id order, with their
	// sealed secrets: a master-key rotation walks the table with it.
	WebhookSecrets(ctx context.Context, after uuid.UUID, limit int) ([]WebhookSecret, error)
	// ReplaceWebhookSecret sets the sealed secret of webhook id to value
	// only if it is old now, and reports whether it did: a rotate-secret (or
	// a delete) that came in between wins.
	ReplaceWebhookSecret(ctx context.Context, id uuid.UUID, old, value []byte) (bool, error)

	// Ingest writes each event and one pending delivery per active webhook of
	// its team subscribed to its type, in one durable transaction shared with
	// concurrent callers. Per-event problems are in IngestResult.Err; the
	// error return is for the store failing as a whole.
	IngestEvents(ctx context.Context, events []NewEvent, opt IngestOptions) ([]IngestResult, error)

	// Queue.
	Lease(ctx context.Context, req LeaseRequest) (LeaseResult, error)
	// RecordOutcomes writes outcomes in one transaction. An outcome whose
	// lease (Owner, LeaseUntil) is still held moves the delivery to its
	// Transition; a success that does so is recorded on the delivery row
	// itself (the log shows it as the last attempt), every other attempt
	// gets an attempt row. An outcome whose lease was lost (expired and
	// taken, voided, or the delivery canceled) records its attempt row only.
	// A success sets the webhook's last_delivered_at.
	RecordOutcomes(ctx context.Context, outcomes []Outcome) error
	// ReleaseLeases makes leased rows of owner due again at once.
	ReleaseLeases(ctx context.Context, owner string, ids []uuid.UUID) error
	// ReleaseLeasesExcept makes every row leased to owner due again at once,
	// except keep: after a write whose commit failed (it may have committed
	// leases nobody will act on), the owner gives back what it does not hold
	// in memory. Returns how many rows were released.
	ReleaseLeasesExcept(ctx context.Context, owner string, keep []uuid.UUID) (int, error)
	// Wakeups delivers a signal when another process may have made work due
	// (PostgreSQL LISTEN/NOTIFY). Nil when the store has no such channel.
	Wakeups() <-chan struct{}

	// Liveness. Register makes a new owner identity for this process and
	// holds its proof of life. On the embedded store it requires a store
	// opened exclusively (one serving process per file), and voids every
	// lease of any earlier owner: they are all dead.
	Register(ctx context.Context) (Registration, error)
	// ReapDeadOwners voids the leases of owners whose proof of life has been
	// gone for a grace period (their rows are due again at once) and returns
	// how many rows that freed. Cheap enough to call every second.
	ReapDeadOwners(ctx context.Context, now time.Time) (int, error)

	// Delivery log.
	ListDeliveries(ctx context.Context, teamID, webhookID uuid.UUID, f DeliveryFilter, p Page) ([]Delivery, int, error)
	GetDelivery(ctx context.Context, teamID, webhookID, deliveryID uuid.UUID) (DeliveryDetail, error)
	// Redeliver creates a new pending delivery of the same event to the same
	// webhook. ErrWebhookDisabled when the webhook is disabled.
	Redeliver(ctx context.Context, teamID, webhookID, deliveryID uuid.UUID, now time.Time) (uuid.UUID, error)
	// CreateTestDelivery writes ev and one pending delivery to the webhook.
	CreateTestDelivery(ctx context.Context, teamID, webhookID uuid.UUID, ev NewEvent) (uuid.UUID, error)
	// Recover claims, for recovery r, every delivery of r's webhook that ended
	// failed with completed_at in [r.Since, r.Until) and was not claimed by an
	// earlier recovery, and returns how many it claimed. The redeliveries are
	// created afterwards by ConvertRecoveries, in chunks. ErrNotFound: no
	// such webhook in the team; ErrWebhookDisabled: it is disabled.
	Recover(ctx context.Context, r Recovery) (int, error)
	// ConvertRecoveries creates the redeliveries of at most limit claimed
	// deliveries of accepted recoveries (same event, new id, due at now, full
	// schedule) and reports how many it created; 0 means nothing is left.
	ConvertRecoveries(ctx context.Context, now time.Time, limit int) (int, error)
	// Purge deletes terminal deliveries made and completed before before (with
	// their attempts), finished recoveries accepted before it, and events made
	// before it that no delivery refers to any more. Returns rows deleted.
	Purge(ctx context.Context, before time.Time) (int, error)

	// QueueStats reads the deliveries per state, the oldest pending and the
	// most overdue (see QueueStats) as of now, from one snapshot. leaseFor
	// is the longest lease processes take (a lease always ends within
	// leaseFor of now): live leases are looked for among the queue rows up
	// to now+leaseFor only, so retries scheduled further out are not read.
	// It reads delivery_counts, one index entry per webhook with pending
	// deliveries, and those queue rows: cheap enough for a metrics scrape.
	QueueStats(ctx context.Context, now time.Time, leaseFor time.Duration) (QueueStats, error)
}
