package auth

import (
	"testing"

	"go.uber.org/goleak"
)

// The JWKS refresh goroutine must end with its context; every test cancels
// its verifiers' contexts (t.Context), so nothing may be left running.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
