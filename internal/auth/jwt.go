package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

const (
	// MinHS256SecretLen follows RFC 7518 §3.2: an HMAC key at least as long
	// as the hash output. Shorter secrets are refused at startup.
	MinHS256SecretLen = 32
	// clockSkew is the leeway on exp and nbf (SPEC: 60 s at most).
	clockSkew = 60 * time.Second
	// maxTokenLen stops oversized junk before any parsing.
	maxTokenLen = 16 << 10
	// jwksTimeout bounds one JWKS fetch, and how long a request with an
	// unknown kid may wait for the refresh it triggers.
	jwksTimeout = 10 * time.Second
)

// asymmetricAlgs are accepted only with a JWKS URL; HS256 only with a secret.
var asymmetricAlgs = []string{"RS256", "ES256", "EdDSA"}

// JWTConfig says how user session tokens are verified. At least one of
// HS256Secret and JWKSURL must be set.
type JWTConfig struct {
	HS256Secret []byte // nil or empty: HS256 tokens are rejected
	JWKSURL     string // "": asymmetric tokens are rejected
	Issuer      string // when set, iss must equal it
	Audience    string // when set, aud must contain it
	HTTPClient  *http.Client
}

// Verifier checks JWTs and yields the user id in their sub claim.
type Verifier struct {
	hs     []byte
	jwks   keyfunc.Keyfunc
	parser *jwt.Parser
	now    func() time.Time // tests move the clock
}

// NewVerifier builds a Verifier. With a JWKS URL it fetches the key set
// (a failed first fetch is not fatal: keys are fetched again when a token
// names an unknown kid, at most every 5 minutes) and refreshes it hourly
// in the background until ctx is canceled.
func NewVerifier(ctx context.Context, cfg JWTConfig) (*Verifier, error) {
	v := &Verifier{now: time.Now}
	var methods []string
	if len(cfg.HS256Secret) > 0 {
		if len(cfg.HS256Secret) < MinHS256SecretLen {
			return nil, fmt.Errorf("JWT secret is %d bytes: HS256 needs at least %d", len(cfg.HS256Secret), MinHS256SecretLen)
		}
		v.hs = cfg.HS256Secret
		methods = append(methods, jwt.SigningMethodHS256.Alg())
	}
	if cfg.JWKSURL != "" {
		kf, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{cfg.JWKSURL}, keyfunc.Override{
			Client:           cfg.HTTPClient,
			HTTPTimeout:      jwksTimeout,
			RateLimitWaitMax: jwksTimeout,
		})
		if err != nil {
			return nil, fmt.Errorf("JWKS URL: %w", err)
		}
		v.jwks = kf
		methods = append(methods, asymmetricAlgs...)
	}
	if len(methods) == 0 {
		return nil, errors.New("JWT verification needs an HS256 secret or a JWKS URL")
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(methods),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(clockSkew),
		jwt.WithTimeFunc(func() time.Time { return v.now() }),
	}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	if cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(cfg.Audience))
	}
	v.parser = jwt.NewParser(opts...)
	return v, nil
}

// Verify checks token and returns its subject. Failures are *Error with
// status 401 and a reason that does not repeat the token.
func (v *Verifier) Verify(token string) (userID uuid.UUID, err error) {
	if token == "" || len(token) > maxTokenLen {
		return uuid.Nil, unauthorized("bearer token is malformed")
	}
	claims := &strictClaims{}
	if _, err := v.parser.ParseWithClaims(token, claims, v.key); err != nil {
		return uuid.Nil, unauthorized(describeJWTError(err, &claims.RegisteredClaims))
	}
	if len(claims.Subject) != 36 { // canonical form only, no urn:/braces
		return uuid.Nil, unauthorized("bearer token sub claim must be a user UUID")
	}
	id, err := uuid.Parse(claims.Subject)
	if err != nil || id == uuid.Nil {
		return uuid.Nil, unauthorized("bearer token sub claim must be a user UUID")
	}
	return id, nil
}

// key hands each algorithm only its own kind of key: HS256 gets the shared
// secret and never a JWKS entry, asymmetric algorithms get JWKS keys and
// never bytes. Together with WithValidMethods this defeats alg confusion
// (an HS256 token "signed" with a public key) and alg none.
func (v *Verifier) key(t *jwt.Token) (any, error) {
	if t.Method.Alg() == jwt.SigningMethodHS256.Alg() {
		if v.hs == nil {
			return nil, errors.New("HS256 is not accepted")
		}
		return v.hs, nil
	}
	if v.jwks == nil {
		return nil, errors.New("asymmetric tokens are not accepted")
	}
	k, err := v.jwks.Keyfunc(t)
	if err != nil {
		return nil, err
	}
	return publicKeysOnly(k)
}

// publicKeysOnly drops symmetric ("oct") JWKS entries, which keyfunc returns
// as []byte.
func publicKeysOnly(k any) (any, error) {
	switch k := k.(type) {
	case []byte:
		return nil, errors.New("symmetric JWKS key refused")
	case jwt.VerificationKeySet:
		var out jwt.VerificationKeySet
		for _, key := range k.Keys {
			if _, sym := key.([]byte); !sym {
				out.Keys = append(out.Keys, key)
			}
		}
		if len(out.Keys) == 0 {
			return nil, errors.New("no public key in the JWKS")
		}
		return out, nil
	}
	return k, nil
}

// describeJWTError turns a parse failure into a client-safe reason. jwt's
// own texts may quote header values chosen by the caller, so they are not
// passed on.
func describeJWTError(err error, c *jwt.RegisteredClaims) string {
	var typeErr *claimTypeError
	switch {
	case errors.As(err, &typeErr):
		return typeErr.Error()
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "bearer token is malformed"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		return "bearer token signature is invalid, or its algorithm or key is not accepted"
	case errors.Is(err, jwt.ErrTokenExpired):
		return "bearer token is expired"
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return "bearer token is not valid yet (nbf)"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		switch {
		case c.ExpiresAt == nil:
			return "bearer token has no exp claim"
		case c.Issuer == "":
			return "bearer token has no iss claim"
		default:
			return "bearer token has no aud claim"
		}
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return "bearer token iss claim is not the expected issuer"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return "bearer token aud claim does not include the expected audience"
	}
	return "bearer token is invalid"
}

// MintHS256 signs a session token for userID, valid for ttl from now, with
// iss and aud set when given (used by `hookd token`).
func MintHS256(secret []byte, userID uuid.UUID, ttl time.Duration, issuer, audience string, now time.Time) (string, error) {
	if len(secret) < MinHS256SecretLen {
		return "", fmt.Errorf("JWT secret is %d bytes: HS256 needs at least %d", len(secret), MinHS256SecretLen)
	}
	if userID == uuid.Nil {
		return "", errors.New("user id must not be the nil UUID")
	}
	if ttl <= 0 {
		return "", errors.New("token lifetime must be positive")
	}
	claims := jwt.RegisteredClaims{
		Subject:   userID.String(),
		Issuer:    issuer,
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
	}
	if audience != "" {
		claims.Audience = jwt.ClaimStrings{audience}
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
}
