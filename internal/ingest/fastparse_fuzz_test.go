package ingest

import "testing"

// The differential tests (fastparse_test.go, fastbatch_test.go) check a
// fixed corpus; these keep looking for a body on which the fast path
// answers otherwise than the slow one. Seeds: every fuzz corpus of this
// package and the common shapes, alone and in batches, so that mutations
// start from bodies the fast path takes.

// FuzzParseFastEqualsSlow: Parse answers every body exactly as parseSlow.
func FuzzParseFastEqualsSlow(f *testing.F) {
	for _, body := range fuzzSeeds(f) {
		f.Add(body)
	}
	for _, body := range commonShapes() {
		f.Add(body)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkParseSame(t, body)
	})
}

// FuzzParseBatchFastEqualsSlow: ParseBatch answers every body exactly as
// parseBatchSlow.
func FuzzParseBatchFastEqualsSlow(f *testing.F) {
	for _, body := range fuzzSeeds(f) {
		f.Add(body)
	}
	for _, ev := range commonShapes() {
		f.Add([]byte(`{"events":[` + string(ev) + `]}`))
		f.Add([]byte(`{ "events" : [ ` + string(ev) + ` , 1 , ` + string(ev) + ` ] } `))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkBatchSame(t, body)
	})
}
