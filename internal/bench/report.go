package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"
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

// WriteTable writes the report as an aligned table, one row per scenario.
func WriteTable(w io.Writer, rep Report) error {
	fmt.Fprintf(w, "hookd bench — store %s, %d CPUs (GOMAXPROCS %d), %.1f GiB, %s %s\n",
		rep.Store, rep.Machine.CPUs, rep.Machine.GOMAXPROCS, rep.Machine.MemoryGiB, rep.Machine.GoVersion, rep.Machine.OS)
	fmt.Fprintln(w, "receiver, load generator and hookd share this process and its cores; counts are unique deliveries with verified signatures")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tDELIVERIES\tSECONDS\tPER SEC\tRATIO\tLATENCY p50/p90/p99/max ms\tRSS MiB\tTARGET\tDETAIL")
	for _, r := range rep.Results {
		ratio, lat, rss, target := "-", "-", "-", "-"
		if r.Ratio > 0 {
			ratio = fmt.Sprintf("%.2f", r.Ratio)
		}
		if r.Latency != (Latency{}) {
			lat = fmt.Sprintf("%.1f/%.1f/%.1f/%.1f", r.Latency.P50, r.Latency.P90, r.Latency.P99, r.Latency.Max)
		}
		if r.PeakRSSMiB > 0 {
			rss = fmt.Sprintf("%.0f", r.PeakRSSMiB)
		}
		if r.TargetMet != nil {
			verdict := "met"
			if !*r.TargetMet {
				verdict = "MISSED"
			}
			target = r.Target + ": " + verdict
		}
		fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.0f\t%s\t%s\t%s\t%s\t%s\n",
			r.Scenario, r.Deliveries, r.Seconds, r.PerSecond, ratio, lat, rss, target, r.Detail)
		if r.Duplicates > 0 {
			fmt.Fprintf(tw, "  (%s: %d duplicate deliveries received)\t\t\t\t\t\t\t\t\n", r.Scenario, r.Duplicates)
		}
	}
	return tw.Flush()
}
