package delivery

import (
	"encoding/json"
	"net/http"
	"os"
	"testing"

	"github.com/hookd/hookd/internal/store"
	"github.com/hookd/hookd/webhooksig"
)

// The sender signs exactly as receivers verify: the shared vectors of
// webhooksig/testdata give the header setHeaders must produce.
func TestSenderMatchesSignatureVectors(t *testing.T) {
	data, err := os.ReadFile("../../webhooksig/testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vectors []struct{ Name, Secret, Body, Header string }
	if err := json.Unmarshal(data, &vectors); err != nil {
		t.Fatal(err)
	}
	if len(vectors) < 2 {
		t.Fatalf("only %d vectors", len(vectors))
	}
	for _, v := range vectors {
		h := http.Header{}
		setHeaders(h, &store.LeasedDelivery{Body: []byte(v.Body), EventType: "task.completed"}, v.Secret, []string{"hookd/test"})
		if got := h[headerSignature]; len(got) != 1 || got[0] != v.Header {
			t.Errorf("%s: sender wrote %v, want %s", v.Name, got, v.Header)
		}
		if headerSignature != webhooksig.Header {
			t.Errorf("sender header %q, receivers read %q", headerSignature, webhooksig.Header)
		}
	}
}
