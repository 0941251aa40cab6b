package delivery

import (
	"context"
	"log/slog"
	"time"

	"github.com/hookd/hookd/internal/store"
)

// RunPurger deletes, every `every` (and once at start), terminal deliveries,
// their attempts and events older than retention, until ctx is canceled.
// A retention of zero or less disables purging; every defaults to an hour.
func RunPurger(ctx context.Context, st store.Store, retention, every time.Duration, log *slog.Logger) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if retention <= 0 {
		log.Info("purging disabled", "retention", retention)
		return
	}
	if every <= 0 {
		every = time.Hour
	}
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	for {
		n, err := st.Purge(ctx, time.Now().Add(-retention))
		switch {
		case err != nil && ctx.Err() == nil:
			log.Error("purge failed", "err", err)
		case n > 0:
			log.Info("purged old deliveries and events", "rows", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}
