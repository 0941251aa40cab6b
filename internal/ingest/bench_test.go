package ingest

import (
	"bytes"
	"fmt"
	"runtime"
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

// benchBatch is a batch of 500 events of benchEvent's shape, each with its
// own task id, as the batch ingest API receives it.
var benchBatch = func() []byte {
	const n = 500
	var buf bytes.Buffer
	buf.WriteString(`{"events":[`)
	for i := range n {
		if i > 0 {
			buf.WriteByte(',')
		}
		id := fmt.Sprintf("019c65a0-aaaa-7bbb-cccc-%012x", i+1)
		buf.Write(bytes.Replace(benchEvent, []byte("019c65a0-aaaa-7bbb-cccc-dddddddddddd"), []byte(id), -1))
	}
	buf.WriteString(`]}`)
	return buf.Bytes()
}()

// BenchmarkParseBatch is the decoding cost of a 500-event batch; the
// per-event figures (ns/event, B/event, allocs/event) compare with
// BenchmarkParse.
func BenchmarkParseBatch(b *testing.B) {
	const n = 500
	b.ReportAllocs()
	b.SetBytes(int64(len(benchBatch)))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for b.Loop() {
		events, errs, err := ParseBatch(benchBatch)
		if err != nil || len(events) != n || errs[n-1] != nil {
			b.Fatal(len(events), err)
		}
	}
	runtime.ReadMemStats(&after)
	per := float64(b.N * n)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/per, "ns/event")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/per, "B/event")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/per, "allocs/event")
}
