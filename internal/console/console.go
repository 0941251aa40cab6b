package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed static
var static embed.FS

// Prefix is the path the console is served under.
const Prefix = "/console/"

// ContentSecurityPolicy allows only hookd's own scripts, styles, images and
// API; no inline code, no framing, no form submission (forms are handled by
// script, so a form that submitted anyway cannot put a credential into a
// URL), and Trusted Types so that assigning a string to innerHTML or a
// similar sink throws.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; " +
	"require-trusted-types-for 'script'; trusted-types 'none'"

// Config is what the page shell shows besides the embedded assets.
type Config struct {
	// UserAgent is the User-Agent header deliveries carry; the delivery
	// detail shows it among the request headers.
	UserAgent string
}

type asset struct {
	body        []byte
	contentType string
	etag        string
}

// Pages are the console's files, read from the embedded tree once.
type Pages struct {
	assets map[string]asset // keyed by path below Prefix; "" is the page shell
}

// New prepares the page shell and the assets. It fails only if the embedded
// tree is broken, which a test catches.
func New(cfg Config) (*Pages, error) {
	p := &Pages{assets: map[string]asset{}}
	shell, err := template.ParseFS(static, "static/index.html")
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := shell.Execute(&buf, cfg); err != nil {
		return nil, err
	}
	p.add("", buf.Bytes(), "text/html; charset=utf-8")
	err = fs.WalkDir(static, "static", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || name == "static/index.html" {
			return err
		}
		body, err := static.ReadFile(name)
		if err != nil {
			return err
		}
		p.add(strings.TrimPrefix(name, "static/"), body, contentType(name))
		return nil
	})
	return p, err
}

// MustNew is New for the embedded tree, which the package's tests prove sound.
func MustNew(cfg Config) *Pages {
	p, err := New(cfg)
	if err != nil {
		panic("console: embedded assets: " + err.Error())
	}
	return p
}

func (p *Pages) add(name string, body []byte, contentType string) {
	sum := sha256.Sum256(body)
	p.assets[name] = asset{body: body, contentType: contentType, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
}

func contentType(name string) string {
	switch path.Ext(name) {
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}

// Serve answers a GET or HEAD under Prefix and reports whether the path
// names a console file; when it does not, nothing is written and the caller
// answers 404 in its own format.
func (p *Pages) Serve(w http.ResponseWriter, r *http.Request) bool {
	name, ok := strings.CutPrefix(r.URL.Path, Prefix)
	if !ok {
		return false
	}
	a, ok := p.assets[name]
	if !ok {
		return false
	}
	h := w.Header()
	setSecurityHeaders(h)
	h.Set("Content-Type", a.contentType)
	// Revalidate every time: an upgraded hookd serves its new console at
	// once, and the ETag makes the check cheap.
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", a.etag)
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(a.body))
	return true
}

// setSecurityHeaders sets the headers every console response carries.
func setSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
}
