package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"go.uber.org/goleak"
)

var testHSSecret = []byte("0123456789abcdef0123456789abcdef-hs256")

// testClock is the verifier time in tests that set claims relative to it.
var testClock = time.Date(2026, 2, 16, 9, 0, 0, 0, time.UTC)

type signingKey struct {
	alg    string
	kid    string
	method jwt.SigningMethod
	priv   crypto.Signer
}

func newSigningKeys(t *testing.T) []signingKey {
	t.Helper()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return []signingKey{
		{"RS256", "rsa-1", jwt.SigningMethodRS256, rsaKey},
		{"ES256", "ec-1", jwt.SigningMethodES256, ecKey},
		{"EdDSA", "ed-1", jwt.SigningMethodEdDSA, edKey},
	}
}

// jwksServer serves the public halves of its keys on loopback; set swaps
// the served set (key rotation) and fail makes it answer 500.
type jwksServer struct {
	*httptest.Server
	mu       sync.Mutex
	body     []byte
	fail     bool
	requests atomic.Int32
}

func newJWKSServer(t *testing.T, keys ...signingKey) *jwksServer {
	t.Helper()
	s := &jwksServer{}
	s.set(t, keys...)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		s.requests.Add(1)
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.fail {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(s.body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) set(t *testing.T, keys ...signingKey) {
	t.Helper()
	set := jwkset.NewMemoryStorage()
	for _, k := range keys {
		jwk, err := jwkset.NewJWKFromKey(k.priv.Public(), jwkset.JWKOptions{
			Metadata: jwkset.JWKMetadataOptions{KID: k.kid, ALG: jwkset.ALG(k.alg), USE: jwkset.UseSig},
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := set.KeyWrite(context.Background(), jwk); err != nil {
			t.Fatal(err)
		}
	}
	body, err := set.JSONPublic(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	s.body, s.fail = body, false
	s.mu.Unlock()
}

func (s *jwksServer) setFailing(fail bool) {
	s.mu.Lock()
	s.fail = fail
	s.mu.Unlock()
}

func newTestVerifier(t *testing.T, cfg JWTConfig, srv *jwksServer) *Verifier {
	t.Helper()
	if srv != nil {
		cfg.JWKSURL, cfg.HTTPClient = srv.URL, srv.Client()
	}
	v, err := NewVerifier(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	v.now = func() time.Time { return testClock }
	return v
}

// claimsFor is a valid claim set at testClock; edit then sign.
func claimsFor(user uuid.UUID) jwt.MapClaims {
	return jwt.MapClaims{
		"sub": user.String(),
		"iat": testClock.Unix(),
		"exp": testClock.Add(time.Hour).Unix(),
	}
}

func sign(t *testing.T, method jwt.SigningMethod, kid string, key any, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// rejects asserts a 401 *Error whose message contains want and does not
// leak the token.
func rejects(t *testing.T, v *Verifier, token, want string) {
	t.Helper()
	id, err := v.Verify(token)
	if err == nil {
		t.Fatalf("token accepted (sub %s), want rejection %q", id, want)
	}
	var ae *Error
	if !errors.As(err, &ae) || ae.Status != http.StatusUnauthorized {
		t.Fatalf("err = %#v, want *Error with status 401", err)
	}
	if !strings.Contains(ae.Message, want) {
		t.Fatalf("message %q does not contain %q", ae.Message, want)
	}
	for _, part := range strings.Split(token, ".") {
		if len(part) >= 8 && strings.Contains(ae.Message, part) {
			t.Fatalf("message %q leaks part of the token", ae.Message)
		}
	}
}

func accepts(t *testing.T, v *Verifier, token string, want uuid.UUID) {
	t.Helper()
	got, err := v.Verify(token)
	if err != nil {
		t.Fatalf("token rejected: %v", err)
	}
	if got != want {
		t.Fatalf("sub = %s, want %s", got, want)
	}
}

func TestVerifyHS256(t *testing.T) {
	v := newTestVerifier(t, JWTConfig{HS256Secret: testHSSecret}, nil)
	user := uuid.New()
	accepts(t, v, sign(t, jwt.SigningMethodHS256, "", testHSSecret, claimsFor(user)), user)
	rejects(t, v, sign(t, jwt.SigningMethodHS256, "", []byte("another-secret-another-secret-xx"), claimsFor(user)), "signature")
	rejects(t, v, sign(t, jwt.SigningMethodHS512, "", testHSSecret, claimsFor(user)), "algorithm")
}

func TestVerifyAsymmetricViaJWKS(t *testing.T) {
	keys := newSigningKeys(t)
	srv := newJWKSServer(t, keys...)
	v := newTestVerifier(t, JWTConfig{}, srv)
	others := newSigningKeys(t)
	for i, k := range keys {
		t.Run(k.alg, func(t *testing.T) {
			user := uuid.New()
			accepts(t, v, sign(t, k.method, k.kid, k.priv, claimsFor(user)), user)
			// No kid: every key of the set is tried.
			accepts(t, v, sign(t, k.method, "", k.priv, claimsFor(user)), user)
			// Same kid, another private key: bad signature.
			rejects(t, v, sign(t, k.method, k.kid, others[i].priv, claimsFor(user)), "signature")
			// HS256 is not accepted when only a JWKS is configured.
			rejects(t, v, sign(t, jwt.SigningMethodHS256, k.kid, testHSSecret, claimsFor(user)), "algorithm")
		})
	}
	// A key of one type under another's kid: RS256 token naming the EC key.
	rejects(t, v, sign(t, jwt.SigningMethodRS256, "ec-1", keys[0].priv, claimsFor(uuid.New())), "signature")
}

func TestVerifyAsymmetricRefusedWithoutJWKS(t *testing.T) {
	k := newSigningKeys(t)[0]
	v := newTestVerifier(t, JWTConfig{HS256Secret: testHSSecret}, nil)
	rejects(t, v, sign(t, k.method, k.kid, k.priv, claimsFor(uuid.New())), "algorithm")
}

func TestVerifyBothMethodsConfigured(t *testing.T) {
	keys := newSigningKeys(t)
	v := newTestVerifier(t, JWTConfig{HS256Secret: testHSSecret}, newJWKSServer(t, keys...))
	user := uuid.New()
	accepts(t, v, sign(t, jwt.SigningMethodHS256, "", testHSSecret, claimsFor(user)), user)
	accepts(t, v, sign(t, jwt.SigningMethodHS256, "rsa-1", testHSSecret, claimsFor(user)), user)
	accepts(t, v, sign(t, keys[2].method, keys[2].kid, keys[2].priv, claimsFor(user)), user)
}

func TestVerifyRejectsAlgNone(t *testing.T) {
	user := uuid.New()
	unsigned := sign(t, jwt.SigningMethodNone, "", jwt.UnsafeAllowNoneSignatureType, claimsFor(user))
	payload, _ := json.Marshal(claimsFor(user))
	enc := base64.RawURLEncoding.EncodeToString
	variants := []string{
		unsigned,
		enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc(payload) + ".",
		enc([]byte(`{"alg":"None","typ":"JWT"}`)) + "." + enc(payload) + ".",
		enc([]byte(`{"alg":"none","kid":"rsa-1"}`)) + "." + enc(payload) + "." + enc([]byte("sig")),
	}
	verifiers := map[string]*Verifier{
		"hs256": newTestVerifier(t, JWTConfig{HS256Secret: testHSSecret}, nil),
		"jwks":  newTestVerifier(t, JWTConfig{}, newJWKSServer(t, newSigningKeys(t)...)),
		"both":  newTestVerifier(t, JWTConfig{HS256Secret: testHSSecret}, newJWKSServer(t, newSigningKeys(t)...)),
	}
	for name, v := range verifiers {
		for i, tok := range variants {
			t.Run(name, func(t *testing.T) {
				if _, err := v.Verify(tok); err == nil {
					t.Fatalf("alg none variant %d accepted", i)
				}
			})
		}
	}
}

// The classic confusion attack: take the server's RSA public key, use its
// bytes as an HMAC secret, and send an HS256 token naming that key.
func TestVerifyRejectsAlgorithmConfusion(t *testing.T) {
	keys := newSigningKeys(t)
	rsaPub := keys[0].priv.Public()
	der, err := x509.MarshalPKIXPublicKey(rsaPub)
	if err != nil {
		t.Fatal(err)
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	edPub := []byte(keys[2].priv.Public().(ed25519.PublicKey))
	srv := newJWKSServer(t, keys...)
	jwksOnly := newTestVerifier(t, JWTConfig{}, srv)
	both := newTestVerifier(t, JWTConfig{HS256Secret: testHSSecret}, srv)
	user := uuid.New()
	for _, secret := range [][]byte{pemBytes, der, edPub, srv.body} {
		for _, kid := range []string{"rsa-1", "ed-1", ""} {
			tok := sign(t, jwt.SigningMethodHS256, kid, secret, claimsFor(user))
			rejects(t, jwksOnly, tok, "algorithm")
			rejects(t, both, tok, "signature")
		}
	}
}

func TestVerifyExpiryAndLeeway(t *testing.T) {
	v := newTestVerifier(t, JWTConfig{HS256Secret: testHSSecret}, nil)
	user := uuid.New()
	at := func(edit func(jwt.MapClaims)) string {
		c := claimsFor(user)
		edit(c)
		return sign(t, jwt.SigningMethodHS256, "", testHSSecret, c)
	}
	accepts(t, v, at(func(c jwt.MapClaims) { c["exp"] = testClock.Add(-59 * time.Second).Unix() }), user)
	rejects(t, v, at(func(c jwt.MapClaims) { c["exp"] = testClock.Add(-60 * time.Second).Unix() }), "expired")
	rejects(t, v, at(func(c jwt.MapClaims) { c["exp"] = testClock.Add(-time.Hour).Unix() }), "expired")
	rejects(t, v, at(func(c jwt.MapClaims) { delete(c, "exp") }), "no exp claim")
	rejects(t, v, at(func(c jwt.MapClaims) { c["exp"] = "tomorrow" }), "exp claim must be a JSON number")
	accepts(t, v, at(func(c jwt.MapClaims) { c["nbf"] = testClock.Add(59 * time.Second).Unix() }), user)
	rejects(t, v, at(func(c jwt.MapClaims) { c["nbf"] = testClock.Add(61 * time.Second).Unix() }), "not valid yet")
}

func TestVerifyIssuerAndAudience(t *testing.T) {
	v := newTestVerifier(t, JWTConfig{HS256Secret: testHSSecret, Issuer: "https://idp.example", Audience: "hookd"}, nil)
	user := uuid.New()
	with := func(iss any, aud any) string {
		c := claimsFor(user)
		if iss != nil {
			c["iss"] = iss
		}
		if aud != nil {
			c["aud"] = aud
		}
		return sign(t, jwt.SigningMethodHS256, "", testHSSecret, c)
	}
	accepts(t, v, with("https://idp.example", "hookd"), user)
	accepts(t, v, with("https://idp.example", []string{"other", "hookd"}), user)
	rejects(t, v, with("https://evil.example", "hookd"), "iss")
	rejects(t, v, with(nil, "hookd"), "no iss claim")
	rejects(t, v, with("https://idp.example", "other"), "aud")
	rejects(t, v, with("https://idp.example", nil), "no aud claim")

	// Without configured issuer/audience, any or none is fine.
	open := newTestVerifier(t, JWTConfig{HS256Secret: testHSSecret}, nil)
	accepts(t, open, with("https://anyone.example", "anything"), user)
}

func TestVerifySubjectMustBeAUserUUID(t *testing.T) {
	v := newTestVerifier(t, JWTConfig{HS256Secret: testHSSecret}, nil)
	u := uuid.New()
	for _, sub := range []any{nil, "", "alice", "urn:uuid:" + u.String(), "{" + u.String() + "}",
		strings.ReplaceAll(u.String(), "-", ""), uuid.Nil.String(), 42} {
		c := claimsFor(u)
		if sub == nil {
			delete(c, "sub")
		} else {
			c["sub"] = sub
		}
		tok := sign(t, jwt.SigningMethodHS256, "", testHSSecret, c)
		if _, err := v.Verify(tok); err == nil {
			t.Errorf("sub %v accepted", sub)
		}
	}
	upper := claimsFor(u)
	upper["sub"] = strings.ToUpper(u.String())
	accepts(t, v, sign(t, jwt.SigningMethodHS256, "", testHSSecret, upper), u)
}

func TestVerifyRejectsGarbage(t *testing.T) {
	v := newTestVerifier(t, JWTConfig{HS256Secret: testHSSecret}, nil)
	for _, tok := range []string{"", "abc", "a.b.c", "a.b", strings.Repeat("x", maxTokenLen+1), "...."} {
		rejects(t, v, tok, "")
	}
}

func TestNewVerifierConfigErrors(t *testing.T) {
	if _, err := NewVerifier(t.Context(), JWTConfig{}); err == nil {
		t.Fatal("no secret and no JWKS accepted")
	}
	if _, err := NewVerifier(t.Context(), JWTConfig{HS256Secret: []byte{}}); err == nil {
		t.Fatal("an empty secret counts as configured")
	}
	_, err := NewVerifier(t.Context(), JWTConfig{HS256Secret: []byte("short-secret")})
	if err == nil || strings.Contains(err.Error(), "short-secret") {
		t.Fatalf("short secret: err = %v (must fail without quoting it)", err)
	}
	if _, err := NewVerifier(t.Context(), JWTConfig{JWKSURL: "::not a url"}); err == nil {
		t.Fatal("malformed JWKS URL accepted")
	}
}

func TestMintHS256(t *testing.T) {
	user := uuid.New()
	now := time.Now()
	tok, err := MintHS256(testHSSecret, user, time.Hour, "https://idp.example", "hookd", now)
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(t.Context(), JWTConfig{HS256Secret: testHSSecret, Issuer: "https://idp.example", Audience: "hookd"})
	if err != nil {
		t.Fatal(err)
	}
	accepts(t, v, tok, user)

	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(tok, claims); err != nil {
		t.Fatal(err)
	}
	if exp, _ := claims.GetExpirationTime(); exp == nil || exp.Unix() != now.Add(time.Hour).Unix() {
		t.Fatalf("exp = %v, want now+1h", exp)
	}
	v.now = func() time.Time { return now.Add(time.Hour + clockSkew) }
	rejects(t, v, tok, "expired")

	plain, err := MintHS256(testHSSecret, user, time.Minute, "", "", now)
	if err != nil {
		t.Fatal(err)
	}
	claims = jwt.MapClaims{}
	_, _, _ = jwt.NewParser().ParseUnverified(plain, claims)
	if _, has := claims["iss"]; has {
		t.Fatal("iss set although no issuer was given")
	}
	if _, has := claims["aud"]; has {
		t.Fatal("aud set although no audience was given")
	}

	for name, call := range map[string]func() (string, error){
		"short secret": func() (string, error) { return MintHS256([]byte("short"), user, time.Hour, "", "", now) },
		"nil user":     func() (string, error) { return MintHS256(testHSSecret, uuid.Nil, time.Hour, "", "", now) },
		"zero ttl":     func() (string, error) { return MintHS256(testHSSecret, user, 0, "", "", now) },
		"negative ttl": func() (string, error) { return MintHS256(testHSSecret, user, -time.Second, "", "", now) },
	} {
		if _, err := call(); err == nil {
			t.Errorf("%s: minted", name)
		}
	}
}

// A token naming a kid the verifier has not seen makes it fetch the set
// again, so an identity provider can rotate keys, and a JWKS endpoint that
// was down at startup is retried.
func TestJWKSRotationAndStartupFailure(t *testing.T) {
	keys := newSigningKeys(t)
	srv := newJWKSServer(t, keys[0])
	srv.setFailing(true)
	v := newTestVerifier(t, JWTConfig{}, srv) // first fetch fails: not fatal
	user := uuid.New()

	srv.set(t, keys[0], keys[1])
	accepts(t, v, sign(t, keys[1].method, keys[1].kid, keys[1].priv, claimsFor(user)), user)
	accepts(t, v, sign(t, keys[0].method, keys[0].kid, keys[0].priv, claimsFor(user)), user)
	if n := srv.requests.Load(); n != 2 {
		t.Fatalf("JWKS fetched %d times, want 2 (startup, then once for the unknown kid)", n)
	}
	// Unknown kids do not make the verifier hammer the endpoint.
	for i := range 3 {
		rejects(t, v, sign(t, keys[2].method, "unknown-"+string(rune('a'+i)), keys[2].priv, claimsFor(user)), "")
	}
	if n := srv.requests.Load(); n != 2 {
		t.Fatalf("JWKS fetched %d times after unknown kids, want rate limiting", n)
	}
}

func TestJWKSRefreshStopsWithContext(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	srv := newJWKSServer(t, newSigningKeys(t)...)
	ctx, cancel := context.WithCancel(context.Background())
	if _, err := NewVerifier(ctx, JWTConfig{JWKSURL: srv.URL, HTTPClient: srv.Client()}); err != nil {
		t.Fatal(err)
	}
	cancel()
	srv.Close()
	goleak.VerifyNone(t, ignore)
}

func TestPublicKeysOnlyDropsSymmetricKeys(t *testing.T) {
	pub := newSigningKeys(t)[0].priv.Public() // *rsa.PublicKey: comparable
	if _, err := publicKeysOnly([]byte("oct")); err == nil {
		t.Fatal("a symmetric key was handed to an asymmetric algorithm")
	}
	got, err := publicKeysOnly(jwt.VerificationKeySet{Keys: []jwt.VerificationKey{[]byte("oct"), pub}})
	if err != nil {
		t.Fatal(err)
	}
	if set := got.(jwt.VerificationKeySet); len(set.Keys) != 1 {
		t.Fatalf("set has %d keys, want only the public one", len(set.Keys))
	}
	if _, err := publicKeysOnly(jwt.VerificationKeySet{Keys: []jwt.VerificationKey{[]byte("oct")}}); err == nil {
		t.Fatal("a set of only symmetric keys was accepted")
	}
	if k, err := publicKeysOnly(pub); err != nil || k != pub {
		t.Fatal("a public key was not passed through")
	}
}
