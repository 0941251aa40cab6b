package openapitest

import (
	"slices"

	"github.com/getkin/kin-openapi/openapi3"
)

// Statuses lists the response codes documented for r, sorted (nil when the
// document has no such operation).
func (s *Spec) Statuses(r Route) []string {
	op := s.operation(r)
	if op == nil {
		return nil
	}
	var out []string
	for code := range op.Responses.Map() {
		out = append(out, code)
	}
	slices.Sort(out)
	return out
}

// Fields lists the names a reader of r needs explained, sorted and unique:
// its query parameters, the properties of its request body and of its
// success (2xx) responses, nested objects and array items included. Error
// bodies are the shared envelope and are not listed.
func (s *Spec) Fields(r Route) []string {
	op := s.operation(r)
	if op == nil {
		return nil
	}
	names := map[string]bool{}
	params := append(openapi3.Parameters{}, s.doc.Paths.Value(r.Path).Parameters...)
	for _, p := range append(params, op.Parameters...) {
		if p.Value != nil && p.Value.In == openapi3.ParameterInQuery {
			names[p.Value.Name] = true
		}
	}
	seen := map[*openapi3.Schema]bool{}
	if op.RequestBody != nil && op.RequestBody.Value != nil {
		for _, mt := range op.RequestBody.Value.Content {
			collectProperties(mt.Schema, names, seen)
		}
	}
	for code, resp := range op.Responses.Map() {
		if len(code) != 3 || code[0] != '2' || resp.Value == nil {
			continue
		}
		for _, mt := range resp.Value.Content {
			collectProperties(mt.Schema, names, seen)
		}
	}
	out := make([]string, 0, len(names))
	for n := range names {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

func (s *Spec) operation(r Route) *openapi3.Operation {
	item := s.doc.Paths.Value(r.Path)
	if item == nil {
		return nil
	}
	return item.GetOperation(r.Method)
}

func collectProperties(ref *openapi3.SchemaRef, names map[string]bool, seen map[*openapi3.Schema]bool) {
	if ref == nil || ref.Value == nil || seen[ref.Value] {
		return
	}
	sc := ref.Value
	seen[sc] = true
	for name, prop := range sc.Properties {
		names[name] = true
		collectProperties(prop, names, seen)
	}
	collectProperties(sc.Items, names, seen)
	for _, group := range []openapi3.SchemaRefs{sc.OneOf, sc.AnyOf, sc.AllOf} {
		for _, sub := range group {
			collectProperties(sub, names, seen)
		}
	}
}
