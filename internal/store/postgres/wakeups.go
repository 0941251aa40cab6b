package postgres

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// Reconnect backoff of the listener.
const (
	listenRetryMin = 50 * time.Millisecond
	listenRetryMax = 5 * time.Second
)

// listener holds a dedicated connection (outside the pool: LISTEN is a
// session state) that LISTENs on the schema's channel and turns each
// notification into a non-blocking send on ch. Many notifications while the
// dispatcher is busy fold into one pending signal.
type listener struct {
	ch     chan struct{}
	cancel context.CancelFunc
	exited chan struct{}
	// pid is the backend of the current connection (0 when disconnected);
	// tests terminate it to exercise reconnection.
	pid atomic.Uint32
}

func startListener(cc *pgx.ConnConfig, channel string) *listener {
	ctx, cancel := context.WithCancel(context.Background())
	l := &listener{ch: make(chan struct{}, 1), cancel: cancel, exited: make(chan struct{})}
	go l.run(ctx, cc.Copy(), channel)
	return l
}

func (l *listener) stop() {
	l.cancel()
	<-l.exited
}

func (l *listener) signal() {
	select {
	case l.ch <- struct{}{}:
	default:
	}
}

// run listens until ctx ends, reconnecting with backoff when the connection
// drops. After every (re)connection it signals once: notifications sent
// while it was not listening are lost, so the dispatcher should look.
func (l *listener) run(ctx context.Context, cc *pgx.ConnConfig, channel string) {
	defer close(l.exited)
	backoff := listenRetryMin
	for ctx.Err() == nil {
		if l.listen(ctx, cc, channel) {
			backoff = listenRetryMin // it was connected: retry quickly
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, listenRetryMax)
	}
}

// listen runs one connection's life; it reports whether LISTEN succeeded.
func (l *listener) listen(ctx context.Context, cc *pgx.ConnConfig, channel string) bool {
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return false
	}
	defer func() {
		l.pid.Store(0)
		closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = conn.Close(closeCtx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		return false
	}
	l.pid.Store(conn.PgConn().PID())
	l.signal()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return true
		}
		l.signal()
	}
}
