// Package bench measures hookd end to end: `hookd bench` runs it.
//
// Everything runs in one process and talks over loopback only. hookd runs
// through app.Serve exactly as `hookd serve` does, on a fresh store per
// scenario run (a temporary SQLite directory, or a fresh PostgreSQL schema
// named in the URL's search_path), with --allow-cidr 127.0.0.0/8 and
// --ca-file naming the certificate of a local HTTPS receiver made for the
// run. The load generator is an ordinary HTTP client of the batch ingest API.
//
// The receiver is the referee: it verifies the signature of every request
// against the secret the API returned for that endpoint, counts unique
// X-Webhook-Delivery ids (a repeat is counted as a duplicate, never as
// progress) and records when each event first arrived. Figures are computed
// from those records, never estimated: a rate is unique deliveries divided by
// the time from the first ingest request to the last new delivery, a latency
// is the receipt time minus the time the ingest answer for that event
// arrived.
//
// The ceiling scenario sends the same kind of signed POSTs from a plain Go
// client to the same receiver with the same concurrency, so the ratio to it
// says how much of the machine's HTTPS capacity hookd's durable path keeps.
// Receiver, load generator and hookd share the machine's cores in every
// scenario, the ceiling included.
//
// Every scenario stops by itself: it has a deadline, and what was not
// delivered by then is an error, not a figure.
package bench
