package ingest

import (
	"testing"
	"time"
)

// benchEvent is SPEC §4's example event as the ingest API receives it.
var benchEvent = []byte(`{"team_id":"019c65a0-0000-7000-8000-000000000001","task_id":"019c65a0-aaaa-7bbb-cccc-dddddddddddd","task_status":"completed","task_output":{"storage_key":"tasks/019c65a0-aaaa-7bbb-cccc-dddddddddddd/output.png","image_count":1},"task_error":"","timestamp":"2026-02-16T09:00:00Z"}`)

// BenchmarkParse is the per-event decoding cost of the ingest API.
func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchEvent)))
	for b.Loop() {
		if _, err := Parse(benchEvent); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPrepare is validation plus rendering the delivery body: what an
// event costs before the store sees it.
func BenchmarkPrepare(b *testing.B) {
	b.ReportAllocs()
	ev, err := Parse(benchEvent)
	if err != nil {
		b.Fatal(err)
	}
	at := time.Date(2026, 2, 16, 9, 0, 0, 0, time.UTC)
	for b.Loop() {
		if _, err := prepare(ev, at); err != nil {
			b.Fatal(err)
		}
	}
}
