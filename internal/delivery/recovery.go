package delivery

import (
	"context"
	"time"
)

const (
	// recoveryChunk is how many redeliveries one store call creates.
	recoveryChunk = 500
	// recoveryPoll: recover calls accepted by other processes are picked up
	// at least this often.
	recoveryPoll = 2 * time.Second
)

// convertRecoveries turns accepted recover calls into redeliveries, a chunk
// at a time, until none is left; then it waits for WakeRecoveries or the
// poll. The redeliveries join the queue like any new delivery, so the lanes
// deliver them at the webhook's normal pace, and memory holds a chunk at most.
func (e *Engine) convertRecoveries(ctx context.Context) {
	ticker := time.NewTicker(recoveryPoll)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		case <-e.recoveryWanted:
		}
		for ctx.Err() == nil {
			cctx, cancel := context.WithTimeout(ctx, e.cfg.Timeout)
			n, err := e.q.ConvertRecoveries(cctx, e.now(), recoveryChunk)
			cancel()
			if err != nil {
				if ctx.Err() == nil {
					e.log.Warn("creating recovered deliveries failed; retrying", "err", err)
				}
				break
			}
			if n == 0 {
				break
			}
			e.metrics.recovered.Add(float64(n))
			e.Wake()
		}
	}
}
