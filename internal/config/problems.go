package config

import (
	"errors"
	"fmt"
	"strings"
)

// Problems is every mistake found in a configuration. A start that checks
// everything first and reports it all at once saves the operator one failed
// start per missing flag (and, on PostgreSQL, one connection attempt each).
type Problems []error

// Add records err; nil is ignored. A Problems is flattened into this one.
func (p *Problems) Add(err error) {
	var more Problems
	switch {
	case err == nil:
	case errors.As(err, &more):
		*p = append(*p, more...)
	default:
		*p = append(*p, err)
	}
}

// Addf records a problem described by a format.
func (p *Problems) Addf(format string, args ...any) { p.Add(fmt.Errorf(format, args...)) }

// Err is nil when nothing was recorded, else the Problems.
func (p Problems) Err() error {
	if len(p) == 0 {
		return nil
	}
	return p
}

// Error reads as one sentence for one problem and as a list for several.
func (p Problems) Error() string {
	if len(p) == 1 {
		return p[0].Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d problems with the configuration:", len(p))
	for _, err := range p {
		b.WriteString("\n  - ")
		b.WriteString(strings.ReplaceAll(err.Error(), "\n", "\n    "))
	}
	return b.String()
}

// Unwrap lets errors.Is and errors.As look at each problem.
func (p Problems) Unwrap() []error { return p }
