package bench

import (
	"os"
	"testing"
	"time"
)

func TestParseStatCPU(t *testing.T) {
	// Fields 14 and 15 (utime 1200, stime 34) after a command name that
	// holds spaces and parentheses.
	stat := "4242 (hookd (x) y) S 1 4242 4242 0 -1 4194560 1030 0 0 0 1200 34 0 0 20 0 9 0 777 1234 56 18446744073709551615"
	got, err := parseStatCPU(stat)
	if err != nil || got != 1234 {
		t.Errorf("parseStatCPU = %d, %v; want 1234", got, err)
	}
	for _, bad := range []string{"", "4242 hookd S 1", "4242 (hookd) S 1 2 3", "4242 (hookd) S 1 4242 4242 0 -1 0 0 0 0 0 x 34 0"} {
		if _, err := parseStatCPU(bad); err == nil {
			t.Errorf("parseStatCPU(%q) accepted", bad)
		}
	}
}

// This process's CPU grows while it works, in clock ticks.
func TestProcessCPUTicksOfSelf(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	before, err := processCPUTicks(0)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(100 * time.Millisecond)
	for x := 0; time.Now().Before(deadline); x++ {
		_ = x * x
	}
	after, err := processCPUTicks(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if after <= before {
		t.Errorf("CPU ticks %d then %d after 100 ms of work", before, after)
	}
}

func TestCPUDelta(t *testing.T) {
	start := cpuSnapshot{1: 100, 2: 50, 3: 70, 4: 500}
	end := cpuSnapshot{
		1: 130, // lived through the phase: +30
		2: 50,  // idle: +0
		// 3 exited: lost
		4: 20, // reused pid (CPU went down): a new process, all 20
		5: 9,  // born in the phase: all 9
	}
	ticks, n := cpuDelta(start, end, nil)
	if ticks != 30+0+20+9 || n != 4 {
		t.Errorf("cpuDelta = %d ticks over %d processes, want 59 over 4", ticks, n)
	}
	ticks, n = cpuDelta(start, end, func(pid int) bool { return pid == 1 || pid == 5 })
	if ticks != 39 || n != 2 {
		t.Errorf("filtered cpuDelta = %d over %d, want 39 over 2", ticks, n)
	}
}

func TestParseProcNetTCP(t *testing.T) {
	text := `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000   101        0 4959 1 0000000000000000 100 0 0 10 0
   1: 0100007F:D431 0100007F:1538 01 00000000:00000000 00:00000000 00000000     0        0 88123 1 0000000000000000 20 4 30 10 -1
   2: 0100007F:1538 0100007F:D431 01 00000000:00000000 00:00000000 00000000   101        0 88124 1 0000000000000000 20 4 30 10 -1
   3: 0100007F:1539 0100007F:D432 06 00000000:00000000 03:00000000 00000000     0        0 0 3 0000000000000000
`
	socks := map[uint64]tcpConn{}
	parseProcNetTCP(text, socks)
	want := map[uint64]tcpConn{4959: {5432, 0}, 88123: {54321, 5432}, 88124: {5432, 54321}}
	if len(socks) != len(want) {
		t.Fatalf("parsed %v, want %v", socks, want)
	}
	for ino, c := range want {
		if socks[ino] != c {
			t.Errorf("inode %d: %+v, want %+v", ino, socks[ino], c)
		}
	}
}

func TestPostgresPort(t *testing.T) {
	for url, want := range map[string]int{
		"":                                 0,
		"postgres://u@127.0.0.1/test":      5432,
		"postgres://u@127.0.0.1:6543/test": 6543,
		"postgresql://u@[::1]:5433/t?x=y":  5433,
		"postgres://u@localhost:nope/test": 0,
	} {
		if got := postgresPort(url); got != want {
			t.Errorf("postgresPort(%q) = %d, want %d", url, got, want)
		}
	}
}

func TestWarmupPosts(t *testing.T) {
	for events, want := range map[int]int64{100: 100, 5000: 2000, 100_000: 20_000} {
		if got := warmupPosts(events); got != want {
			t.Errorf("warmupPosts(%d) = %d, want %d", events, got, want)
		}
	}
}

func TestTailWriterKeepsTheEnd(t *testing.T) {
	w := &tailWriter{max: 8}
	w.Write([]byte("0123456789"))
	w.Write([]byte("ab"))
	if got := w.String(); got != "456789ab" {
		t.Errorf("tail %q", got)
	}
}
