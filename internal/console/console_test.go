package console

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"strings"
	"testing"
)

func newPages(t *testing.T) *Pages {
	t.Helper()
	p, err := New(Config{UserAgent: "hookd/1.2.3"})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func serve(p *Pages, method, target string, header http.Header) (*httptest.ResponseRecorder, bool) {
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	return rec, p.Serve(rec, req)
}

// embeddedFiles lists the files under static/, as paths below Prefix.
func embeddedFiles(t *testing.T) []string {
	t.Helper()
	var names []string
	err := fs.WalkDir(static, "static", func(name string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			names = append(names, strings.TrimPrefix(name, "static/"))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func TestEveryFileIsServedWithTheSecurityHeaders(t *testing.T) {
	p := newPages(t)
	want := map[string]string{"": "text/html; charset=utf-8"}
	for _, name := range embeddedFiles(t) {
		if name != "index.html" {
			want[name] = map[string]string{".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}[path.Ext(name)]
		}
	}
	for name, contentType := range want {
		for _, method := range []string{"GET", "HEAD"} {
			rec, ok := serve(p, method, Prefix+name, nil)
			if !ok || rec.Code != http.StatusOK {
				t.Fatalf("%s %s: served %v, status %d", method, name, ok, rec.Code)
			}
			h := rec.Header()
			for header, value := range map[string]string{
				"Content-Type":            contentType,
				"Content-Security-Policy": ContentSecurityPolicy,
				"X-Content-Type-Options":  "nosniff",
				"Referrer-Policy":         "no-referrer",
				"X-Frame-Options":         "DENY",
				"Cache-Control":           "no-cache",
			} {
				if h.Get(header) != value {
					t.Errorf("%s %s: %s is %q, want %q", method, name, header, h.Get(header), value)
				}
			}
			if method == "HEAD" && rec.Body.Len() != 0 {
				t.Errorf("HEAD %s has a body", name)
			}
			if method == "GET" && rec.Body.Len() == 0 {
				t.Errorf("GET %s is empty", name)
			}
		}
	}
}

func TestAnUnchangedFileIsNotSentAgain(t *testing.T) {
	p := newPages(t)
	first, _ := serve(p, "GET", Prefix+"js/main.js", nil)
	etag := first.Header().Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	again, _ := serve(p, "GET", Prefix+"js/main.js", http.Header{"If-None-Match": {etag}})
	if again.Code != http.StatusNotModified || again.Body.Len() != 0 {
		t.Fatalf("revalidation: %d with %d bytes", again.Code, again.Body.Len())
	}
}

// Only the page and the files in static/ exist: no directory listings, no
// template source, nothing outside the tree.
func TestOtherPathsAreLeftToTheCaller(t *testing.T) {
	p := newPages(t)
	for _, target := range []string{
		Prefix + "index.html", Prefix + "js/", Prefix + "js", Prefix + "static/console.css",
		Prefix + "../console.go", Prefix + "nope.js", "/console", "/api/v1/webhooks",
	} {
		rec, ok := serve(p, "GET", target, nil)
		if ok || rec.Body.Len() != 0 || len(rec.Header()) != 0 {
			t.Errorf("%s: served %v, wrote %d bytes and headers %v", target, ok, rec.Body.Len(), rec.Header())
		}
	}
}

func TestThePageCarriesTheUserAgentEscaped(t *testing.T) {
	p, err := New(Config{UserAgent: `hookd/"><script>alert(1)</script>`})
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := serve(p, "GET", Prefix, nil)
	body := rec.Body.String()
	if strings.Contains(body, "<script>alert") || !strings.Contains(body, `content="hookd/&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"`) {
		t.Fatalf("the User-Agent is not escaped into the meta tag:\n%s", body)
	}
}

// The CSP already forbids inline code; these checks keep the sources from
// even trying, and keep markup sinks out of the scripts, so that API values
// can only become text (Trusted Types would make such a sink throw at run
// time; this catches it before a browser does).
func TestSourcesUseNoInlineCodeAndNoMarkupSinks(t *testing.T) {
	forbidden := map[string]*regexp.Regexp{
		"index.html": regexp.MustCompile(`(?i)<script(?:\s[^>]*)?>\s*[^<\s]|<script(?:(?:\s+(?:type|async|defer)(?:="[^"]*")?)*)\s*>|<style|\sstyle=|\son[a-z]+=|javascript:`),
		".js":        regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|setAttribute\(\s*['"](?:style|on)|\.style\.|javascript:|createContextualFragment|DOMParser|srcdoc`),
		".css":       regexp.MustCompile(`(?i)@import|url\(\s*['"]?(?:https?:)?//`),
	}
	for _, name := range embeddedFiles(t) {
		re := forbidden[name]
		if re == nil {
			re = forbidden[path.Ext(name)]
		}
		if re == nil {
			continue
		}
		src, err := static.ReadFile("static/" + name)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(src), "\n") {
			if m := re.FindString(line); m != "" {
				t.Errorf("%s:%d uses %q: %s", name, i+1, m, strings.TrimSpace(line))
			}
		}
	}
}

var importRE = regexp.MustCompile(`(?m)^import\s[^;]*?from\s+'([^']+)';|^import\s+'([^']+)';`)

// Every module import is a relative path to an embedded file (nothing is
// loaded from outside hookd), and every script is reachable from main.js.
func TestModulesImportOnlyEmbeddedFiles(t *testing.T) {
	exists := map[string]bool{}
	for _, name := range embeddedFiles(t) {
		exists[name] = true
	}
	reached := map[string]bool{}
	var visit func(name string)
	visit = func(name string) {
		if reached[name] {
			return
		}
		reached[name] = true
		src, err := static.ReadFile("static/" + name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, m := range importRE.FindAllStringSubmatch(string(src), -1) {
			spec := m[1] + m[2]
			if !strings.HasPrefix(spec, "./") && !strings.HasPrefix(spec, "../") {
				t.Errorf("%s imports %q: only relative imports of embedded files", name, spec)
				continue
			}
			target := path.Join(path.Dir(name), spec)
			if !exists[target] {
				t.Errorf("%s imports %q, which is not embedded", name, spec)
				continue
			}
			visit(target)
		}
	}
	visit("js/main.js")
	for name := range exists {
		if path.Ext(name) == ".js" && !reached[name] {
			t.Errorf("%s is embedded but no module imports it", name)
		}
	}
	index, _ := static.ReadFile("static/index.html")
	for _, ref := range regexp.MustCompile(`(?:src|href)="([^"#][^"]*)"`).FindAllStringSubmatch(string(index), -1) {
		if !exists[ref[1]] {
			t.Errorf("index.html refers to %q, which is not embedded", ref[1])
		}
	}
}
