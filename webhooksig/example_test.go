package webhooksig_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/hookd/hookd/webhooksig"
)

// A receiver verifies the raw body before it decodes anything.
func ExampleVerifyRequest() {
	const secret = "whsec_a1b2c3d4e5f6g7h8i9j0" // the webhook_secret hookd returned

	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := webhooksig.VerifyRequest(r, secret, 1<<20)
		if err != nil {
			http.Error(w, "invalid signature", http.StatusUnauthorized)
			return
		}
		fmt.Printf("verified %d bytes\n", len(body))
		w.WriteHeader(http.StatusNoContent)
	})

	// What hookd sends:
	body := `{"event_type":"task.completed","task_id":"019c65a0-aaaa-7bbb-cccc-dddddddddddd"}`
	req := httptest.NewRequest(http.MethodPost, "/webhooks/hookd", strings.NewReader(body))
	req.Header.Set(webhooksig.Header, webhooksig.Sign(secret, []byte(body)))
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, req)
	fmt.Println(rec.Code)

	// A forged request:
	forged := httptest.NewRequest(http.MethodPost, "/webhooks/hookd", strings.NewReader(body))
	forged.Header.Set(webhooksig.Header, webhooksig.Sign("guessed", []byte(body)))
	rec = httptest.NewRecorder()
	handler.ServeHTTP(rec, forged)
	fmt.Println(rec.Code)

	// Output:
	// verified 80 bytes
	// 204
	// 401
}

func ExampleSign() {
	fmt.Println(webhooksig.Sign("It's a Secret to Everybody", []byte("Hello, World!")))
	// Output: sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17
}
