package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"
)

// The child is driven only through its command line, never through Go
// calls into this build's packages, so that an older or newer hookd binary
// (--hookd-bin) is measured by the same harness: the team, its admin and
// the admin's token come from `hookd team create`, `hookd member add` and
// `hookd token`, and `hookd serve` gets the flags the in-process mode uses.

// readyTimeout bounds how long a child may take until /readyz answers 200.
const readyTimeout = 30 * time.Second

// startAttempts is how often a child is started on a new free port when it
// exits before it is ready (another process took the port in between).
const startAttempts = 3

// childEnv is this process's environment without HOOKD_* variables: the
// bench sets every flag it means, and a deployment's HOOKD_DATABASE must
// never point a benchmark at a real store.
func childEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HOOKD_") {
			out = append(out, kv)
		}
	}
	return out
}

// runAdmin runs one administration command of bin and decodes its JSON
// answer into out. env adds variables to the child's environment.
func runAdmin(ctx context.Context, bin string, args []string, out any, env ...string) error {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(childEnv(), env...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w: %s", bin, strings.Join(args[:2], " "), err, bytes.TrimSpace(stderr.Bytes()))
	}
	if err := json.Unmarshal(stdout.Bytes(), out); err != nil {
		return fmt.Errorf("%s %s: reading its answer %q: %w", bin, strings.Join(args[:2], " "), stdout.String(), err)
	}
	return nil
}

// bootstrapChild creates the team, makes a new user its admin and mints the
// user's token, each through bin's own command on the same store.
func bootstrapChild(ctx context.Context, bin string, s storeSetup) (team uuid.UUID, token string, err error) {
	var created struct {
		ID string `json:"id"`
	}
	// The store is new: the administration commands create one only when
	// asked (--init). Asked through the environment, which a binary from
	// before --init ignores, rather than a flag it would refuse.
	if err := runAdmin(ctx, bin, append([]string{"team", "create", "--name", "bench"}, s.storeFlags()...), &created, "HOOKD_INIT=true"); err != nil {
		return team, "", err
	}
	if team, err = uuid.Parse(created.ID); err != nil {
		return team, "", fmt.Errorf("team create answered id %q: %w", created.ID, err)
	}
	user := uuid.Must(uuid.NewV7()).String()
	var member struct {
		Role string `json:"role"`
	}
	if err := runAdmin(ctx, bin, append([]string{"member", "add", "--team", team.String(), "--user", user, "--role", "admin"},
		s.storeFlags()...), &member); err != nil {
		return team, "", err
	}
	var tok struct {
		Token string `json:"token"`
	}
	if err := runAdmin(ctx, bin, append([]string{"token", "--user", user, "--ttl", "24h"}, s.storeFlags()...), &tok); err != nil {
		return team, "", err
	}
	if tok.Token == "" {
		return team, "", errors.New("hookd token answered no token")
	}
	return team, tok.Token, nil
}

// startChild bootstraps the store through the binary and runs `hookd serve`
// as a child process on a free loopback port until stop.
func startChild(ctx context.Context, env *environment, s storeSetup, opts hookdOptions) (*hookd, error) {
	bin := env.opts.HookdBin
	team, token, err := bootstrapChild(ctx, bin, s)
	if err != nil {
		return nil, fmt.Errorf("bootstrapping the team: %w", err)
	}
	if opts.prepare != nil {
		if err := opts.prepare(ctx, s, team); err != nil {
			return nil, err
		}
	}
	for attempt := 1; ; attempt++ {
		h, early, err := startServe(ctx, env, s, opts)
		if err == nil {
			h.team, h.token, h.ingestToken, h.cleanup = team, token, s.ingestToken, s.cleanup
			return h, nil
		}
		if !early || attempt == startAttempts {
			return nil, err
		}
	}
}

// startServe starts `hookd serve` once and waits for /readyz. early is true
// when the child exited before it was ready (worth another port).
func startServe(ctx context.Context, env *environment, s storeSetup, opts hookdOptions) (h *hookd, early bool, err error) {
	port, err := freePort()
	if err != nil {
		return nil, false, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	tail := &tailWriter{max: 4096}
	cmd := exec.Command(env.opts.HookdBin, append([]string{"serve"}, env.serveFlags(s, opts, addr)...)...)
	cmd.Env = childEnv()
	cmd.Stderr = io.MultiWriter(env.log, tail)
	cmd.Stdout = env.log
	if err := cmd.Start(); err != nil {
		return nil, false, fmt.Errorf("starting %s serve: %w", env.opts.HookdBin, err)
	}
	h = &hookd{base: "http://" + addr, pid: cmd.Process.Pid, exited: make(chan struct{})}
	h.signal = func() { _ = cmd.Process.Signal(syscall.SIGTERM) }
	h.kill = func() { _ = cmd.Process.Kill() }
	go func() {
		if err := cmd.Wait(); err != nil {
			h.exitErr = fmt.Errorf("hookd serve exited: %w: %s", err, tail.String())
		}
		close(h.exited)
	}()
	if err := waitReady(ctx, h); err != nil {
		select {
		case <-h.exited:
			if h.exitErr == nil {
				return nil, true, fmt.Errorf("hookd serve exited with status 0 before it was ready: %s", tail.String())
			}
			return nil, true, fmt.Errorf("before it was ready: %w", h.exitErr)
		default:
		}
		h.kill()
		<-h.exited
		return nil, false, fmt.Errorf("hookd serve: %w: %s", err, tail.String())
	}
	return h, false, nil
}

// waitReady polls GET /readyz until it answers 200, the child exits, or
// readyTimeout passes.
func waitReady(ctx context.Context, h *hookd) error {
	ctx, cancel := context.WithTimeoutCause(ctx, readyTimeout, fmt.Errorf("not ready within %s", readyTimeout))
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	defer client.CloseIdleConnections()
	ticker := time.NewTicker(20 * time.Millisecond)
	defer ticker.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.base+"/readyz", nil)
		if err != nil {
			return err
		}
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-h.exited:
			return errors.New("exited")
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-ticker.C:
		}
	}
}

// freePort asks the kernel for a free loopback port. It is free when this
// returns; the child binds it moments later, and startChild tries another
// port if someone took it in between.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// tailWriter keeps the last max bytes written to it: the child's last log
// lines, for an error message.
type tailWriter struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tailWriter) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(bytes.TrimSpace(t.buf))
}
