// Package apispec holds hookd's HTTP API contract, api/openapi.yaml, as bytes
// compiled into the binary. The server publishes it at GET /openapi.yaml and
// the tests (internal/api/openapitest) validate real responses against it, so
// the document a client reads is the very one the test suite enforces.
package apispec

import _ "embed"

// OpenAPI is the OpenAPI 3.0.3 description of every hookd route, in YAML.
//
//go:embed openapi.yaml
var OpenAPI []byte
