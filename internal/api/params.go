package api

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/google/uuid"
	"github.com/hookd/hookd/internal/store"
)

// parseID accepts only the canonical 36-character UUID form; anything else
// is 400 naming where it came from.
func parseID(s, name string) (uuid.UUID, error) {
	if len(s) != 36 {
		return uuid.Nil, badRequest("%s: must be a UUID", name)
	}
	id, err := uuid.Parse(s)
	if err != nil {
		return uuid.Nil, badRequest("%s: must be a UUID", name)
	}
	return id, nil
}

func pathID(r *http.Request, name string) (uuid.UUID, error) {
	return parseID(r.PathValue(name), name)
}

// parsePage reads current_page (default 1, ≥ 1) and per_page (default 20,
// 1–100); anything else is 400.
func parsePage(q url.Values) (store.Page, error) {
	p := store.Page{Number: 1, Size: 20}
	if v, ok := q["current_page"]; ok {
		n, err := strconv.Atoi(v[0])
		if err != nil || n < 1 {
			return p, badRequest("current_page: must be an integer of at least 1")
		}
		p.Number = n
	}
	if v, ok := q["per_page"]; ok {
		n, err := strconv.Atoi(v[0])
		if err != nil || n < 1 || n > 100 {
			return p, badRequest("per_page: must be an integer from 1 to 100")
		}
		p.Size = n
	}
	// Guard the offset against overflow on absurd page numbers.
	if p.Number > 1<<40/p.Size {
		return p, badRequest("current_page: too large")
	}
	return p, nil
}

func meta(p store.Page, total int) pageMeta {
	return pageMeta{CurrentPage: p.Number, PerPage: p.Size, TotalCount: total}
}

// enumQuery reads an optional query parameter restricted to allowed values.
func enumQuery(q url.Values, name string, allowed ...string) (string, error) {
	v, ok := q[name]
	if !ok {
		return "", nil
	}
	for _, a := range allowed {
		if v[0] == a {
			return a, nil
		}
	}
	return "", badRequest("%s: must be one of %v", name, allowed)
}
