// Package storetest is the behaviour contract of store.Store: one suite that
// every implementation (sqlite, postgres) runs against a fresh store per
// subtest. Each file covers one area of the interface (teams, credentials,
// webhooks, ingest, queue, outcomes, delivery log, purge, concurrency); the
// cases are plain functions of (t, store) so a failure names the rule broken.
//
// The suite pins only what store.go documents plus the few choices both
// implementations share (see the comments on individual cases). Times are
// compared with Equal after truncation to the millisecond, the coarsest
// precision any implementation is allowed to keep.
package storetest

import (
	"context"
	"testing"

	"github.com/hookd/hookd/internal/store"
)

// testCase is one behaviour, run against a fresh, empty, migrated store.
type testCase struct {
	name string
	run  func(t *testing.T, s store.Store)
}

// group is a named set of cases (one file of the suite).
type group struct {
	name  string
	cases []testCase
}

// Run runs every shared test; newStore returns a fresh, empty, migrated store
// for each subtest (t.Cleanup closes it).
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	groups := []group{
		{"Meta", metaCases()},
		{"Keys", keyCases()},
		{"Teams", teamCases()},
		{"Credentials", credentialCases()},
		{"Webhooks", webhookCases()},
		{"Ingest", ingestCases()},
		{"Lease", leaseCases()},
		{"Outcomes", outcomeCases()},
		{"Liveness", livenessCases()},
		{"Recovery", recoveryCases()},
		{"DeliveryLog", deliveryLogCases()},
		{"Purge", purgeCases()},
		{"QueueStats", statsCases()},
		{"Concurrency", concurrencyCases()},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.cases {
				t.Run(tc.name, func(t *testing.T) {
					tc.run(t, newStore(t))
				})
			}
		})
	}
}

func ctx(t *testing.T) context.Context { return t.Context() }

func metaCases() []testCase {
	return []testCase{
		{"PingSucceeds", func(t *testing.T, s store.Store) {
			if err := s.Ping(ctx(t)); err != nil {
				t.Fatalf("Ping: %v", err)
			}
		}},
		{"EnsureMetaKeepsFirstValue", func(t *testing.T, s store.Store) {
			got, err := s.EnsureMeta(ctx(t), "key_fingerprint", "aaa")
			if err != nil || got != "aaa" {
				t.Fatalf("first EnsureMeta = %q, %v; want aaa", got, err)
			}
			got, err = s.EnsureMeta(ctx(t), "key_fingerprint", "bbb")
			if err != nil || got != "aaa" {
				t.Fatalf("second EnsureMeta = %q, %v; want the stored aaa", got, err)
			}
			got, err = s.EnsureMeta(ctx(t), "other", "ccc")
			if err != nil || got != "ccc" {
				t.Fatalf("EnsureMeta of another key = %q, %v; want ccc", got, err)
			}
		}},
	}
}
