package bench

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// progress prints "name: done/total  rate/s  ETA" on w while a long phase
// runs: rewritten in place on a terminal, one line every few seconds
// otherwise (logs, CI).
type progress struct {
	stopOnce sync.Once
	stop     chan struct{}
	done     chan struct{}
}

// startProgress polls count every interval until the returned progress is
// stopped. A nil w prints nothing.
func startProgress(w io.Writer, name string, total int64, count func() int64) *progress {
	p := &progress{stop: make(chan struct{}), done: make(chan struct{})}
	if w == nil {
		close(p.done)
		return p
	}
	tty := isTerminal(w)
	interval := 5 * time.Second
	if tty {
		interval = 500 * time.Millisecond
	}
	go func() {
		defer close(p.done)
		start := time.Now()
		ticker := time.NewTicker(interval)
		defer ticker.Stop()
		printed := false
		for {
			select {
			case <-p.stop:
				if printed && tty {
					fmt.Fprint(w, "\r\033[K")
				}
				return
			case now := <-ticker.C:
				n := count()
				elapsed := now.Sub(start).Seconds()
				rate := float64(n) / elapsed
				eta := "?"
				if rate > 0 && total > 0 {
					eta = (time.Duration(float64(total-n) / rate * float64(time.Second))).Round(time.Second).String()
				}
				line := fmt.Sprintf("%s: %d/%d  %.0f/s  ETA %s", name, n, total, rate, eta)
				if tty {
					fmt.Fprint(w, "\r\033[K"+line)
				} else {
					fmt.Fprintln(w, line)
				}
				printed = true
			}
		}
	}()
	return p
}

func (p *progress) end() {
	p.stopOnce.Do(func() { close(p.stop) })
	<-p.done
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
