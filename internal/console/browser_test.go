package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// findChromium returns the browser to drive. Without one the browser tests
// fail when HOOKD_REQUIRE_CHROMIUM is set (CI sets it, so a missing browser
// cannot pass silently) and skip loudly otherwise.
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{os.Getenv("HOOKD_CHROMIUM"), "chromium", "/usr/bin/chromium"} {
		if name == "" {
			continue
		}
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	const msg = "Chromium is not installed (Debian: apt-get install chromium): the console's browser tests did NOT run"
	if os.Getenv("HOOKD_REQUIRE_CHROMIUM") != "" {
		t.Fatal(msg + " and HOOKD_REQUIRE_CHROMIUM is set")
	}
	t.Skip("SKIPPED: " + msg)
	return ""
}

// tab is one browser tab on the console. It fails the test on any uncaught
// exception or console error from the page (a CSP or Trusted Types
// violation included), and counts JavaScript dialogs: the console never
// opens one, so a dialog means injected script ran.
type tab struct {
	t        *testing.T
	ctx      context.Context
	base     string
	width    int64
	mu       sync.Mutex
	dialogs  []string
	errors   []string
	expected []string      // console errors a test provokes on purpose
	flushed  chan struct{} // the flush marker came through the console
}

// flushMarker is logged at the end of a test; the console's messages keep
// their order, so once it arrives every earlier message has been seen.
const flushMarker = "hookd-console-test-flush"

// expectConsoleError accepts console errors that contain s.
func (tb *tab) expectConsoleError(s string) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	tb.expected = append(tb.expected, s)
}

const desktopWidth, desktopHeight, mobileWidth = 1280, 900, 375

func newTab(t *testing.T, base string) *tab {
	t.Helper()
	exe := findChromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		// This machine's network is closed: without these Chromium keeps
		// trying to reach Google and its connections are refused.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(desktopWidth, desktopHeight),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	tb := &tab{t: t, ctx: ctx, base: base, width: desktopWidth, flushed: make(chan struct{}, 1)}

	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("starting Chromium %s: %v", exe, err)
	}
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			tb.mu.Lock()
			tb.dialogs = append(tb.dialogs, ev.Message)
			tb.mu.Unlock()
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}()
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleLog && m.Text == flushMarker {
				tb.flushed <- struct{}{}
				continue
			}
			// A failed API call shows up as a network error in the log;
			// the console handles those answers itself.
			if m.IsException() || (m.Type == chromedp.ConsoleError && m.Source != "network") {
				tb.mu.Lock()
				tb.errors = append(tb.errors, m.String())
				tb.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`console.log(`+jsString(flushMarker)+`)`)); err == nil {
			select {
			case <-tb.flushed:
			case <-ctx.Done():
				t.Errorf("the browser console did not deliver the flush marker")
			}
		}
		tb.mu.Lock()
		defer tb.mu.Unlock()
	errors:
		for _, e := range tb.errors {
			for _, x := range tb.expected {
				if strings.Contains(e, x) {
					continue errors
				}
			}
			t.Errorf("browser console: %s", e)
		}
		for _, d := range tb.dialogs {
			t.Errorf("a JavaScript dialog opened: %q", d)
		}
	})
	tb.do(chromedp.EmulateViewport(desktopWidth, desktopHeight))
	return tb
}

func (tb *tab) do(actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tb.t.Fatalf("browser: %v\npage text:\n%s", err, tb.pageText())
	}
}

// eval runs a JavaScript expression in the page and decodes its value.
func (tb *tab) eval(expr string, out any) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 10*time.Second)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.t.Fatalf("evaluating %s: %v", expr, err)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			tb.t.Fatalf("evaluating %s: %s: %v", expr, raw, err)
		}
	}
}

func (tb *tab) str(expr string) string {
	tb.t.Helper()
	var s string
	tb.eval(`String(`+expr+`)`, &s)
	return s
}

func (tb *tab) pageText() string {
	ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
	defer cancel()
	s, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ''`))
	return s
}

// waitJS waits until the expression is true. (chromedp's Poll compiles its
// predicate with new Function, which the console's CSP rightly forbids.)
func (tb *tab) waitJS(what, expr string) {
	tb.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var ok bool
		tb.eval(`Boolean(`+expr+`)`, &ok)
		if ok {
			return
		}
		if time.Now().After(deadline) {
			tb.t.Fatalf("timed out waiting for %s\npage text:\n%s", what, tb.pageText())
		}
		time.Sleep(40 * time.Millisecond)
	}
}

// heading is the text of the page's h1.
func (tb *tab) heading() string {
	return tb.str(`document.querySelector('main h1')?.textContent ?? ''`)
}

func (tb *tab) waitHeading(want string) {
	tb.t.Helper()
	tb.waitJS(fmt.Sprintf("the heading %q", want),
		fmt.Sprintf(`document.querySelector('main h1')?.textContent === %s && !document.querySelector('main[aria-busy]')`, jsString(want)))
}

// open loads a console address (#/…) in a fresh page load.
func (tb *tab) open(hash string) {
	tb.t.Helper()
	// Through about:blank, so that the same address loads afresh instead of
	// being a same-document fragment change.
	tb.do(chromedp.Navigate("about:blank"), chromedp.Navigate(tb.base+"/console/"+hash))
}

// button finds a button or button-styled link by its visible label.
func button(scope, label string) chromedp.Search {
	return chromedp.Search(fmt.Sprintf(`%s//*[self::button or self::a][normalize-space(.)=%s]`, scope, xpathString(label)))
}

func (tb *tab) click(scope, label string) {
	tb.t.Helper()
	tb.do(chromedp.Click(button(scope, label)))
}

// hasControl reports whether a button or link with the label is on the page.
func (tb *tab) hasControl(label string) bool {
	var n int
	tb.eval(fmt.Sprintf(`[...document.querySelectorAll('main button, main a, dialog button')].filter(e => e.textContent.trim() === %s).length`, jsString(label)), &n)
	return n > 0
}

func (tb *tab) notice() string {
	return tb.str(`[...document.querySelectorAll('main .notice')].map(n => n.textContent).join(' | ')`)
}

// shot saves a full-page screenshot when HOOKD_CONSOLE_SCREENSHOTS names a
// directory, at the tab's current width.
func (tb *tab) shot(name string) {
	tb.t.Helper()
	dir := os.Getenv("HOOKD_CONSOLE_SCREENSHOTS")
	if dir == "" {
		return
	}
	var height int64
	tb.eval(`Math.ceil(Math.max(document.documentElement.scrollHeight, document.body.scrollHeight))`, &height)
	if height < 600 {
		height = 600
	}
	tb.do(chromedp.EmulateViewport(tb.width, height, tb.mobileOption()))
	ctx, cancel := context.WithTimeout(tb.ctx, 15*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		tb.t.Fatalf("screenshot %s: %v", name, err)
	}
	tb.setWidth(tb.width)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		tb.t.Fatal(err)
	}
}

func (tb *tab) mobileOption() chromedp.EmulateViewportOption {
	if tb.width <= mobileWidth {
		return chromedp.EmulateMobile
	}
	return func(*emulation.SetDeviceMetricsOverrideParams, *emulation.SetTouchEmulationEnabledParams) {}
}

// setWidth switches between the desktop and the 375 px phone viewport.
func (tb *tab) setWidth(width int64) {
	tb.t.Helper()
	tb.width = width
	height := int64(desktopHeight)
	if width <= mobileWidth {
		height = 812
	}
	tb.do(chromedp.EmulateViewport(width, height, tb.mobileOption()))
}

// fitsWidth fails the test when the page scrolls sideways.
func (tb *tab) fitsWidth(where string) {
	tb.t.Helper()
	var scroll int64
	tb.eval(`document.documentElement.scrollWidth`, &scroll)
	if scroll > tb.width {
		tb.t.Errorf("%s: the page is %d px wide in a %d px viewport", where, scroll, tb.width)
	}
}

// signIn fills the sign-in form like a keyboard user: type the credential,
// Tab to the team field, type, Enter.
func (tb *tab) signIn(credential, team string) {
	tb.t.Helper()
	tb.waitHeading("Sign in")
	// SetValue for the long credential keeps the test fast; the team ID and
	// Enter go through real key events.
	tb.do(chromedp.SetValue(chromedp.ID("credential"), credential), chromedp.Focus(chromedp.ID("credential")),
		chromedp.KeyEvent("\t"))
	if got := tb.str(`document.activeElement.id`); got != "team-id" {
		tb.t.Fatalf("Tab from the credential field focused %q, want the team ID field", got)
	}
	tb.do(chromedp.SendKeys(chromedp.ID("team-id"), team+"\r"))
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// xpathString quotes s for XPath 1.0 (which has no escapes).
func xpathString(s string) string {
	if !strings.Contains(s, `"`) {
		return `"` + s + `"`
	}
	return "concat('" + strings.ReplaceAll(s, "'", `', "'", '`) + "')"
}

// Actions on the first element a CSS selector finds.
func typeInto(css, text string) chromedp.Action[chromedp.Void] {
	return chromedp.SendKeys(chromedp.CSS(css), text)
}

func setValue(css, value string) chromedp.Action[chromedp.Void] {
	return chromedp.SetValue(chromedp.CSS(css), value)
}

func clickCSS(css string) chromedp.Action[chromedp.Void] { return chromedp.Click(chromedp.CSS(css)) }

func pressKey(key string) chromedp.Action[chromedp.Void] { return chromedp.KeyEvent(key) }
