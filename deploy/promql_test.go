package deploy_test

import (
	"fmt"
	"regexp"
	"strings"
)

// promqlKeywords are identifiers of PromQL that are not metric names.
var promqlKeywords = map[string]bool{
	"and": true, "or": true, "unless": true, "bool": true, "offset": true, "inf": true, "nan": true,
	"start": true, "end": true, // @ start(), @ end()
}

// labelListKeywords are followed by a parenthesised list of label names.
var labelListKeywords = map[string]bool{
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
}

// metricNames returns the metric names an expression selects. It is a
// lexer, not a parser: it skips strings, label matchers ({…}), ranges
// ([…]), Grafana variables ($x, ${x}), numbers and durations, function
// names (an identifier followed by "("), keywords and the label lists of
// by/without/on/ignoring/group_left/group_right; what remains are the bare
// identifiers that name series.
func metricNames(expr string) ([]string, error) {
	var names []string
	seen := map[string]bool{}
	s := expr
	i := 0
	skipSpace := func(j int) int {
		for j < len(s) && (s[j] == ' ' || s[j] == '\t' || s[j] == '\n' || s[j] == '\r') {
			j++
		}
		return j
	}
	closing := func(open, close byte, j int) (int, error) { // j at open; returns index after close
		depth := 0
		for k := j; k < len(s); k++ {
			switch c := s[k]; {
			case c == '"' || c == '\'' || c == '`':
				end := strings.IndexByte(s[k+1:], c)
				if end < 0 {
					return 0, fmt.Errorf("unterminated string in %q", expr)
				}
				k += end + 1
			case c == open:
				depth++
			case c == close:
				depth--
				if depth == 0 {
					return k + 1, nil
				}
			}
		}
		return 0, fmt.Errorf("unbalanced %c in %q", open, expr)
	}
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			end := strings.IndexByte(s[i+1:], c)
			if end < 0 {
				return nil, fmt.Errorf("unterminated string in %q", expr)
			}
			i += end + 2
		case c == '{':
			j, err := closing('{', '}', i)
			if err != nil {
				return nil, err
			}
			i = j
		case c == '[':
			j, err := closing('[', ']', i)
			if err != nil {
				return nil, err
			}
			i = j
		case c == '$':
			i++
			if i < len(s) && s[i] == '{' {
				j, err := closing('{', '}', i)
				if err != nil {
					return nil, err
				}
				i = j
				continue
			}
			for i < len(s) && isIdentChar(s[i]) {
				i++
			}
		case c >= '0' && c <= '9' || c == '.':
			for i < len(s) && (isIdentChar(s[i]) || s[i] == '.') {
				i++
			}
		case isIdentStart(c):
			j := i
			for j < len(s) && isIdentChar(s[j]) {
				j++
			}
			word := s[i:j]
			next := skipSpace(j)
			switch {
			case labelListKeywords[word]:
				if next < len(s) && s[next] == '(' {
					k, err := closing('(', ')', next)
					if err != nil {
						return nil, err
					}
					j = k
				}
			case promqlKeywords[word]:
			case next < len(s) && s[next] == '(', aggregationModifier(s[next:]):
				// a function, or an aggregation (with by/without before its argument)
			default:
				if !seen[word] {
					seen[word] = true
					names = append(names, word)
				}
			}
			i = j
		default:
			i++
		}
	}
	return names, nil
}

// aggregationModifier reports whether rest starts with by or without as a
// word: then the identifier before it is an aggregation (sum by (…) (…)).
func aggregationModifier(rest string) bool {
	for _, kw := range []string{"by", "without"} {
		if after, ok := strings.CutPrefix(rest, kw); ok && (after == "" || !isIdentChar(after[0])) {
			return true
		}
	}
	return false
}

func isIdentStart(c byte) bool {
	return c == '_' || c == ':' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdentChar(c byte) bool { return isIdentStart(c) || (c >= '0' && c <= '9') }

// labelValuesQuery matches Grafana's label_values(expr, label) variable query.
var labelValuesQuery = regexp.MustCompile(`(?s)^\s*label_values\((.*),\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)\s*$`)

// templateExpr is the PromQL inside a Grafana variable query: the series
// selector of label_values(selector, label), a query_result(…)'s
// expression, or the query itself.
func templateExpr(q string) string {
	if m := labelValuesQuery.FindStringSubmatch(q); m != nil {
		return m[1]
	}
	if rest, ok := strings.CutPrefix(strings.TrimSpace(q), "query_result("); ok {
		return strings.TrimSuffix(strings.TrimSpace(rest), ")")
	}
	return q
}
