package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
)

// Machine describes where a run happened.
type Machine struct {
	CPUs       int     `json:"cpus"`
	GOMAXPROCS int     `json:"gomaxprocs"`
	CPUModel   string  `json:"cpu_model,omitempty"`
	MemoryGiB  float64 `json:"memory_gib,omitempty"`
	GoVersion  string  `json:"go_version"`
	OS         string  `json:"os"`
}

func describeMachine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), GoVersion: runtime.Version(),
		OS: runtime.GOOS + "/" + runtime.GOARCH}
	m.CPUModel = procField("/proc/cpuinfo", "model name")
	if kb := procField("/proc/meminfo", "MemTotal"); kb != "" {
		var n float64
		if _, err := fmt.Sscanf(kb, "%f", &n); err == nil {
			m.MemoryGiB = float64(int(n/1024/1024*10)) / 10
		}
	}
	return m
}

// procField returns the value of the first "key: value" line of a /proc file.
func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// WriteJSON writes the report as indented JSON.
func WriteJSON(w io.Writer, rep Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(rep)
}

// WriteTable writes the whole report as a table, one row per scenario.
func WriteTable(w io.Writer, rep Report) error {
	t := NewTableWriter(w, rep)
	for _, r := range rep.Results {
		if err := t.Row(r); err != nil {
			return err
		}
	}
	return t.Close()
}

// TableWriter prints a report as it is made: the header first, then each
// row as soon as its scenario ends (columns have fixed widths for that),
// then notes on how the figures were taken.
type TableWriter struct {
	w        io.Writer
	postgres bool
	child    bool
	sawLog   bool // a log row was printed: Close explains it
	err      error
}

// column is a heading and its width; width 0 is the free text at the end.
type column struct {
	head  string
	width int
}

// columns of the table; the PG column only on PostgreSQL.
var columns = []column{
	{"SCENARIO", 14}, {"DELIVERIES", 10}, {"SECONDS", 7}, {"PER SEC", 7}, {"RATIO", 5},
	{"HOOKD µs/del", 12}, {"PG µs/del all/own", 17}, {"CPU s hookd[/PG all]", 20},
	{"ms answer→receipt p50/p90/p99/max", 33}, {"ms call→receipt p50/p90/p99/max", 31},
	{"RSS MiB", 7}, {"HTTP", 5}, {"TLS hs/1k", 9}, {"TARGET / DETAIL", 0},
}

// NewTableWriter prints the header of rep's table on w.
func NewTableWriter(w io.Writer, rep Report) *TableWriter {
	t := &TableWriter{w: w, postgres: rep.Store == "postgres", child: rep.Settings.Mode != "in-process"}
	m := rep.Machine
	t.printf("hookd bench — store %s, %d CPUs (GOMAXPROCS %d), %.1f GiB, %s %s\n",
		rep.Store, m.CPUs, m.GOMAXPROCS, m.MemoryGiB, m.GoVersion, m.OS)
	if t.child {
		t.printf("hookd: `hookd serve` child process of %s; receiver and load generator in this process\n", rep.Settings.HookdBin)
	} else {
		t.printf("hookd: in this process (app.Serve), with the receiver and the load generator\n")
	}
	proto := "HTTP/2 offered (h2, http/1.1)"
	if rep.Settings.ReceiverHTTP == ReceiverHTTP11 {
		proto = "HTTP/1.1 only"
	}
	t.printf("receiver: %s; counts are unique deliveries with verified signatures\n", proto)
	var head []string
	for _, c := range t.cols() {
		head = append(head, c.head)
	}
	t.line(head)
	return t
}

func (t *TableWriter) cols() []column {
	if t.postgres {
		return columns
	}
	return slices.DeleteFunc(slices.Clone(columns), func(c column) bool { return strings.HasPrefix(c.head, "PG ") })
}

func (t *TableWriter) printf(format string, args ...any) {
	if t.err == nil {
		_, t.err = fmt.Fprintf(t.w, format, args...)
	}
}

// line prints cells padded to their columns' widths.
func (t *TableWriter) line(cells []string) {
	var b strings.Builder
	for i, c := range t.cols() {
		if c.width == 0 {
			b.WriteString(cells[i])
			break
		}
		fmt.Fprintf(&b, "%-*s  ", c.width, cells[i])
	}
	t.printf("%s\n", strings.TrimRight(b.String(), " "))
}

// Row prints one scenario's row.
func (t *TableWriter) Row(r Result) error {
	dash := func(ok bool, s string) string {
		if !ok {
			return "-"
		}
		return s
	}
	lat := func(l Latency) string {
		return dash(l != (Latency{}), fmt.Sprintf("%.1f/%.1f/%.1f/%.1f", l.P50, l.P90, l.P99, l.Max))
	}
	// A row without a delivery rate (log: its deliveries are the log it
	// reads) has no per-delivery figures either.
	rate := r.PerSecond > 0
	hookdCPU, pg, cpuSecs := "-", "-", "-"
	if r.HookdCPU != nil {
		hookdCPU = dash(rate, fmt.Sprintf("%.0f", r.HookdCPU.MicrosPerDelivery))
		cpuSecs = fmt.Sprintf("%.2f", r.HookdCPU.Seconds)
	}
	if r.PostgresCPU != nil {
		cpuSecs += fmt.Sprintf("/%.2f", r.PostgresCPU.Seconds)
	}
	if r.PostgresCPU != nil && rate {
		own := "?"
		if r.PostgresHookdBackendsCPU != nil {
			own = fmt.Sprintf("%.0f", r.PostgresHookdBackendsCPU.MicrosPerDelivery)
		}
		pg = fmt.Sprintf("%.0f/%s", r.PostgresCPU.MicrosPerDelivery, own)
	}
	httpv := "-"
	switch {
	case r.HTTP1Requests > 0 && r.HTTP2Requests > 0:
		httpv = "1.1+2"
	case r.HTTP1Requests > 0:
		httpv = "1.1"
	case r.HTTP2Requests > 0:
		httpv = "2"
	}
	target := ""
	if r.TargetMet != nil {
		verdict := "met"
		if !*r.TargetMet {
			verdict = "MISSED"
		}
		target = r.Target + ": " + verdict + "; "
	}
	cells := []string{
		r.Scenario, strconv.FormatInt(r.Deliveries, 10), fmt.Sprintf("%.2f", r.Seconds), dash(rate, fmt.Sprintf("%.0f", r.PerSecond)),
		dash(r.Ratio > 0, fmt.Sprintf("%.2f", r.Ratio)),
		hookdCPU, pg, cpuSecs, lat(r.Latency), lat(r.LatencyFromCall),
		dash(r.PeakRSSMiB > 0, fmt.Sprintf("%.0f", r.PeakRSSMiB)),
		httpv, fmt.Sprintf("%.1f", r.HandshakesPer1000), target + r.Detail,
	}
	if !t.postgres {
		cells = slices.Delete(cells, 6, 7) // the PG column
	}
	t.line(cells)
	if r.Duplicates > 0 {
		t.printf("  (%s: %d duplicate deliveries received)\n", r.Scenario, r.Duplicates)
	}
	t.sawLog = t.sawLog || len(r.LogQueries) > 0
	for _, q := range r.LogQueries {
		t.printf("  %s %-16s total_count %-9d %d requests, ms p50/p90/p99/max %.1f/%.1f/%.1f/%.1f\n",
			r.Scenario, q.Kind, q.TotalCount, q.Requests, q.Latency.P50, q.Latency.P90, q.Latency.P99, q.Latency.Max)
	}
	return t.err
}

// Close prints how the figures were taken.
func (t *TableWriter) Close() error {
	if t.child {
		t.printf("HOOKD µs/del: utime+stime of the hookd child (/proc/<pid>/stat, 10 ms ticks at USER_HZ 100) over the measured phase ÷ deliveries; CPU s: the totals; RSS: its VmHWM over the phase.\n")
	} else {
		t.printf("In-process: hookd has no CPU figure of its own (it shares this process); RSS (backlog only) is the whole process's.\n")
	}
	if t.postgres {
		t.printf("PG all: every process named postgres on the machine, other clients of the cluster included (processes born in the phase count fully, those that exited in it are lost); own: the backends of hookd's connections.\n")
	}
	if t.sawLog {
		t.printf("log: DELIVERIES is the size of the log read, SECONDS and CPU s the reading of its pages (one client, the kinds in turn); each kind's request→answer latency is on the lines below the row.\n")
	}
	t.printf("TLS hs/1k: TLS handshakes at the receiver per 1,000 unique deliveries in the scenario; HTTP: the versions requests arrived over.\n")
	return t.err
}
