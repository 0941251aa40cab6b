// Package bench measures hookd end to end: `hookd bench` runs it.
//
// hookd runs as a `hookd serve` child process of a binary (this one by
// default, or an older or newer build), so its own CPU per delivery can be
// read from /proc/<pid>/stat, apart from the receiver and the load
// generator, which stay in this process. The child is driven only through
// its command line — `hookd team create`, `hookd member add` and `hookd
// token` bootstrap the store, `hookd serve` runs on a free loopback port
// until /readyz answers and stops on SIGTERM — so that two builds are
// measured by the same harness. The in-process mode (app.Serve in this
// process) remains for profiling. Each scenario run gets a fresh store (a
// temporary SQLite directory, or a fresh PostgreSQL schema named in the URL's
// search_path), --allow-cidr 127.0.0.0/8 and --ca-file naming the
// certificate of a local HTTPS receiver made for the run. The load generator
// is an ordinary HTTP client of the ingest API. The one exception is the
// log scenario's million deliveries: they are written through the store
// before hookd opens it, then read back through hookd's API.
//
// The receiver is the referee: it verifies the signature of every request
// against the secret the API returned for that endpoint, counts unique
// X-Webhook-Delivery ids (a repeat is counted as a duplicate, never as
// progress) and records when each event first arrived. It also counts TLS
// handshakes and the HTTP version of each request; it offers HTTP/2 or, on
// request, HTTP/1.1 only. Figures are computed from those records, never
// estimated: a rate is unique deliveries divided by the time from the first
// ingest request to the last new delivery, a latency is the receipt time
// minus the time the ingest call started or its answer arrived.
//
// The ceiling sends the same kind of signed POSTs from a plain Go client to
// the same receiver, with as many clients as hookd may have attempts in
// flight in the scenario it is compared with, after an unmeasured warm-up;
// the ratio to it says how much of the machine's HTTPS capacity hookd's
// durable path keeps. Receiver, load generator and hookd share the
// machine's cores in every scenario, the ceiling included.
//
// Every scenario stops by itself: it has a deadline, and what was not
// delivered by then is an error, not a figure. A child that exits during a
// scenario ends it at once.
package bench
