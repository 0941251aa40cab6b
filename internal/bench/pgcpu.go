package bench

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// cpuSnapshot is utime+stime (clock ticks) of a set of processes, by pid.
type cpuSnapshot map[int]uint64

// postgresSnapshot reads the CPU of every process whose /proc/<pid>/comm is
// "postgres": the postmaster, every backend and the background processes
// (checkpointer, background writer, WAL writer, autovacuum...) of every
// cluster on the machine. A process that ends between the directory listing
// and the read is skipped.
func postgresSnapshot() cpuSnapshot {
	snap := cpuSnapshot{}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return snap
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		comm, err := os.ReadFile("/proc/" + e.Name() + "/comm")
		if err != nil || strings.TrimSpace(string(comm)) != "postgres" {
			continue
		}
		if ticks, err := processCPUTicks(pid); err == nil {
			snap[pid] = ticks
		}
	}
	return snap
}

// cpuDelta is the CPU the processes of end spent since start, in clock
// ticks, counting only the pids only accepts (nil: all). A process in both
// snapshots counts its growth; one that appeared during the phase counts
// all its CPU (it was born inside the phase); one that exited during the
// phase is lost, because the kernel keeps an exited process's CPU only in
// its parent's totals. A pid whose CPU went down was reused by a new
// process and counts as new.
func cpuDelta(start, end cpuSnapshot, only func(pid int) bool) (ticks uint64, processes int) {
	for pid, now := range end {
		if only != nil && !only(pid) {
			continue
		}
		processes++
		if was, ok := start[pid]; ok && was <= now {
			ticks += now - was
		} else {
			ticks += now
		}
	}
	return ticks, processes
}

// tcpConn is the two ports of a TCP socket from /proc/net/tcp{,6}.
type tcpConn struct{ local, remote int }

// parseProcNetTCP reads /proc/net/tcp or tcp6 text into sockets by inode.
// Lines look like
//
//	0: 0100007F:1538 0100007F:A1B2 01 ... uid timeout inode ...
//
// where the part after the last ':' of an address is the port in hex.
func parseProcNetTCP(text string, into map[uint64]tcpConn) {
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 10 || !strings.HasSuffix(f[0], ":") {
			continue // the header
		}
		local, ok1 := hexPort(f[1])
		remote, ok2 := hexPort(f[2])
		inode, err := strconv.ParseUint(f[9], 10, 64)
		if !ok1 || !ok2 || err != nil || inode == 0 {
			continue
		}
		into[inode] = tcpConn{local: local, remote: remote}
	}
}

func hexPort(addr string) (int, bool) {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return 0, false
	}
	p, err := strconv.ParseUint(addr[i+1:], 16, 16)
	return int(p), err == nil
}

// socketInodes lists the inodes of pid's open sockets ("socket:[N]" links
// under /proc/<pid>/fd). Another user's process needs root.
func socketInodes(pid int) []uint64 {
	dir := procDir(pid) + "/fd"
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []uint64
	for _, e := range entries {
		link, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		if s, ok := strings.CutPrefix(link, "socket:["); ok {
			if n, err := strconv.ParseUint(strings.TrimSuffix(s, "]"), 10, 64); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

func tcpSockets() map[uint64]tcpConn {
	socks := map[uint64]tcpConn{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		if data, err := os.ReadFile(f); err == nil {
			parseProcNetTCP(string(data), socks)
		}
	}
	return socks
}

// backendsOf returns which of the postgres pids serve a TCP connection
// opened by client to port pgPort: the client's socket has remote port
// pgPort and local port P, the backend's has local port pgPort and remote
// port P. Nil when it cannot tell (no TCP connection found, or the
// backends' descriptors are unreadable without root).
func backendsOf(client, pgPort int, postgresPids []int) map[int]bool {
	socks := tcpSockets()
	clientPorts := map[int]bool{}
	for _, ino := range socketInodes(client) {
		if c, ok := socks[ino]; ok && c.remote == pgPort {
			clientPorts[c.local] = true
		}
	}
	if len(clientPorts) == 0 {
		return nil
	}
	out := map[int]bool{}
	for _, pid := range postgresPids {
		for _, ino := range socketInodes(pid) {
			if c, ok := socks[ino]; ok && c.local == pgPort && clientPorts[c.remote] {
				out[pid] = true
				break
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
