package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// describePostgresError turns a failure to open the PostgreSQL store into one
// line. A connection failure surfaces through the migration library as
// "migrate: failed to initialize: failed to connect to …" followed by one
// dial error per attempt (pgx tries TLS, then plain text, with the default
// sslmode=prefer), so the same cause showed twice; it becomes
// "cannot connect to PostgreSQL at host:port: cause". The URL's password is
// never part of it.
func describePostgresError(err error) error {
	var ce *pgconn.ConnectError
	if !errors.As(err, &ce) || ce.Config == nil {
		return fmt.Errorf("opening the store: %w", err)
	}
	return fmt.Errorf("cannot connect to PostgreSQL at %s: %s", pgAddress(ce.Config), connectCause(ce))
}

// pgAddress is host:port, or the socket path for a Unix socket.
func pgAddress(c *pgconn.Config) string {
	if strings.HasPrefix(c.Host, "/") {
		return c.Host + "/.s.PGSQL." + strconv.Itoa(int(c.Port))
	}
	return net.JoinHostPort(c.Host, strconv.Itoa(int(c.Port)))
}

// connectCause is the most specific reason found in a connect error: what
// the server said, else the name lookup or system call that failed.
func connectCause(ce *pgconn.ConnectError) string {
	var pgErr *pgconn.PgError
	var dnsErr *net.DNSError
	var sysErr *os.SyscallError
	var opErr *net.OpError
	switch {
	case errors.As(ce, &pgErr):
		return pgErr.Message + " (SQLSTATE " + pgErr.Code + ")"
	case errors.As(ce, &dnsErr):
		return "cannot resolve " + dnsErr.Name + ": " + dnsErr.Err
	case errors.As(ce, &sysErr):
		return sysErr.Err.Error()
	case errors.Is(ce, context.DeadlineExceeded):
		return "timed out"
	case errors.As(ce, &opErr):
		return opErr.Err.Error()
	}
	// Unknown shapes: the first line of pgx's own text, without its
	// "failed to connect to `user=… database=…`:" prefix.
	text := ce.Unwrap().Error()
	if line, _, ok := strings.Cut(text, "\n"); ok {
		text = line
	}
	return text
}
