package openapitest

import (
	"net/url"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
)

// pathTemplate is one documented path split into segments. kin-openapi's
// legacy router is laxer than http.ServeMux (it lets {webhookId} match an
// empty segment and ignores a trailing slash), so requests are matched here
// with ServeMux's rules: a wildcard is exactly one non-empty segment, and
// literals compare after unescaping.
type pathTemplate struct {
	path     string
	segments []string // literal text, or a parameter name when wildcard[i]
	wildcard []bool
	literals int // the more literal segments, the more specific (ServeMux precedence)
}

func compileTemplate(path string) pathTemplate {
	t := pathTemplate{path: path}
	for _, seg := range strings.Split(strings.TrimPrefix(path, "/"), "/") {
		name, isWildcard := strings.CutPrefix(seg, "{")
		isWildcard = isWildcard && strings.HasSuffix(name, "}")
		if isWildcard {
			seg = strings.TrimSuffix(name, "}")
		} else {
			t.literals++
		}
		t.segments = append(t.segments, seg)
		t.wildcard = append(t.wildcard, isWildcard)
	}
	return t
}

// match returns the path parameters when the escaped request path fits t.
func (t pathTemplate) match(escapedPath string) (map[string]string, bool) {
	parts := strings.Split(strings.TrimPrefix(escapedPath, "/"), "/")
	if len(parts) != len(t.segments) {
		return nil, false
	}
	params := map[string]string{}
	for i, raw := range parts {
		seg, err := url.PathUnescape(raw)
		if err != nil {
			return nil, false
		}
		switch {
		case t.wildcard[i] && seg != "":
			params[t.segments[i]] = seg
		case t.wildcard[i] || seg != t.segments[i]:
			return nil, false
		}
	}
	return params, true
}

// findRoute returns the operation for method and the escaped path, or
// pathKnown when the path is documented under other methods only (405).
func (s *Spec) findRoute(method, escapedPath string) (route *routers.Route, params map[string]string, pathKnown bool) {
	var best *pathTemplate
	for i := range s.templates {
		t := &s.templates[i]
		p, ok := t.match(escapedPath)
		if !ok {
			continue
		}
		pathKnown = true
		item := s.doc.Paths.Value(t.path)
		op := item.GetOperation(method)
		if op == nil || (best != nil && best.literals >= t.literals) {
			continue
		}
		best = t
		params = p
		route = &routers.Route{Spec: s.doc, Path: t.path, PathItem: item, Method: method, Operation: op}
	}
	return route, params, pathKnown
}

// compileTemplates prepares every documented path of doc for matching.
func compileTemplates(doc *openapi3.T) []pathTemplate {
	var out []pathTemplate
	for _, path := range doc.Paths.InMatchingOrder() {
		out = append(out, compileTemplate(path))
	}
	return out
}
