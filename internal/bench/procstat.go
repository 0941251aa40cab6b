package bench

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// clockTicksPerSecond is USER_HZ, the unit of utime and stime in
// /proc/<pid>/stat (sysconf(_SC_CLK_TCK)). Linux fixes it at 100 for user
// space on every architecture Go runs on; reading it through sysconf would
// need cgo. One tick is 10 ms of CPU, so a CPU figure is exact to 10 ms over
// the whole measured phase, whatever its length.
const clockTicksPerSecond = 100

// microsPerTick converts clock ticks to microseconds of CPU.
const microsPerTick = 1_000_000 / clockTicksPerSecond

// procDir is /proc/<pid>, or /proc/self for pid 0.
func procDir(pid int) string {
	if pid == 0 {
		return "/proc/self"
	}
	return "/proc/" + strconv.Itoa(pid)
}

// parseStatCPU returns utime+stime, in clock ticks, from the text of
// /proc/<pid>/stat. Those are fields 14 and 15; the command name (field 2)
// is in parentheses and may itself hold spaces and parentheses, so fields
// are counted from the last ')'.
func parseStatCPU(stat string) (uint64, error) {
	end := strings.LastIndexByte(stat, ')')
	if end < 0 {
		return 0, errors.New("no command name in stat")
	}
	// After ") " come field 3 (state), 4, ...: field n is at index n-3.
	fields := strings.Fields(stat[end+1:])
	if len(fields) < 13 {
		return 0, fmt.Errorf("stat has %d fields after the command name, want at least 13", len(fields))
	}
	utime, err1 := strconv.ParseUint(fields[14-3], 10, 64)
	stime, err2 := strconv.ParseUint(fields[15-3], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("stat utime/stime: %w", err)
	}
	return utime + stime, nil
}

// processCPUTicks reads utime+stime of pid (all its threads, living or not).
func processCPUTicks(pid int) (uint64, error) {
	data, err := os.ReadFile(procDir(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	return parseStatCPU(string(data))
}

// resetPeakRSS asks Linux to restart pid's peak-RSS counter (VmHWM), so a
// phase's peak is its own. Elsewhere, or without permission, it does
// nothing and the peak is the process's lifetime peak.
func resetPeakRSS(pid int) {
	_ = os.WriteFile(procDir(pid)+"/clear_refs", []byte("5"), 0)
}

// peakRSSMiB reads VmHWM from /proc/<pid>/status; 0 when unavailable.
func peakRSSMiB(pid int) float64 {
	f, err := os.Open(procDir(pid) + "/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			if err != nil {
				return 0
			}
			return kb / 1024
		}
	}
	return 0
}
