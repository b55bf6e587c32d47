package token

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"

	"github.com/tollgate/tollgate/authz/config"
)

// Key-set fetching defaults. [2 of 7] makes them configurable per issuer.
const (
	fetchTimeout           = 10 * time.Second
	refreshInterval        = time.Hour
	unknownKIDRefreshEvery = 5 * time.Minute
	unknownKIDWaitMax      = 200 * time.Millisecond
)

// Keys with a "use" other than sig (or none) must not verify signatures (RFC 7517 4.2).
var signingUses = []jwkset.USE{jwkset.UseSig, ""}

// issuer is one trusted issuer with its key set.
type issuer struct {
	name           string
	iss            string
	algorithms     []string
	audiences      []string
	clientIDClaims []string
	scopeClaims    []string
	keys           keyfunc.Keyfunc
	storage        jwkset.Storage
}

func newIssuer(ctx context.Context, c config.Issuer, log *slog.Logger) (*issuer, error) {
	var storage jwkset.Storage
	var err error
	if c.JWKSFile != "" {
		storage, err = fileStorage(ctx, c.JWKSFile)
	} else {
		storage, err = httpStorage(ctx, c, log)
	}
	if err != nil {
		return nil, fmt.Errorf("issuer %s: %w", c.Name, err)
	}
	kf, err := keyfunc.New(keyfunc.Options{Ctx: ctx, Storage: storage, UseWhitelist: signingUses})
	if err != nil {
		return nil, fmt.Errorf("issuer %s: %w", c.Name, err)
	}
	return &issuer{
		name:           c.Name,
		iss:            c.Issuer,
		algorithms:     slices.Clone(c.Algorithms),
		audiences:      slices.Clone(c.Audiences),
		clientIDClaims: slices.Clone(c.ClientIDClaims),
		scopeClaims:    slices.Clone(c.ScopeClaims),
		keys:           kf,
		storage:        storage,
	}, nil
}

// fileStorage loads a JWKS file once; a file without a usable key is an error.
func fileStorage(ctx context.Context, path string) (jwkset.Storage, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read jwks_file: %w", err)
	}
	var set jwkset.JWKSMarshal
	if err := json.Unmarshal(raw, &set); err != nil {
		return nil, fmt.Errorf("jwks_file %s: not a JWK Set: %w", path, err)
	}
	storage, err := set.ToStorage()
	if err != nil {
		return nil, fmt.Errorf("jwks_file %s: %w", path, err)
	}
	keys, err := storage.KeyReadAll(ctx)
	if err != nil {
		return nil, fmt.Errorf("jwks_file %s: %w", path, err)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("jwks_file %s: holds no usable key", path)
	}
	return storage, nil
}

// jwksClient fetches key sets; it follows a redirect only to https (or to loopback,
// where checkJWKSURI allows http), so a redirect cannot move the keys to plain http.
var jwksClient = &http.Client{
	CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) >= 5 {
			return errors.New("too many redirects")
		}
		if req.URL.Scheme != "https" && !config.IsLoopback(req.URL.Hostname()) {
			return fmt.Errorf("refusing redirect to %s: not https", req.URL.Redacted())
		}
		return nil
	},
}

// httpStorage fetches the JWKS in the background. The server starts even when the
// JWKS is unreachable: its tokens fail as unknown_key until a fetch succeeds.
func httpStorage(ctx context.Context, c config.Issuer, log *slog.Logger) (jwkset.Storage, error) {
	remote, err := jwkset.NewStorageFromHTTP(c.JWKSURI, jwkset.HTTPClientStorageOptions{
		Client:                    jwksClient,
		Ctx:                       ctx,
		HTTPTimeout:               fetchTimeout,
		NoErrorReturnFirstHTTPReq: true,
		RefreshInterval:           refreshInterval,
		RefreshErrorHandler: func(ctx context.Context, err error) {
			log.WarnContext(ctx, "JWKS fetch failed; keeping the last good key set",
				"issuer", c.Name, "jwks_uri", c.JWKSURI, "error", err)
		},
	})
	if err != nil {
		return nil, fmt.Errorf("jwks_uri: %w", err)
	}
	return jwkset.NewHTTPClient(jwkset.HTTPClientOptions{
		HTTPURLs:          map[string]jwkset.Storage{c.JWKSURI: remote},
		RateLimitWaitMax:  unknownKIDWaitMax,
		RefreshUnknownKID: rate.NewLimiter(rate.Every(unknownKIDRefreshEvery), 1),
	})
}

// key returns the key that verifies a token: the JWK its kid names, or, for a token
// without kid, every signing key of the set that fits its algorithm.
func (is *issuer) key(ctx context.Context, t *jwt.Token) (any, error) {
	if _, ok := t.Header["kid"]; ok {
		return is.keys.KeyfuncCtx(ctx)(t)
	}
	all, err := is.storage.KeyReadAll(ctx)
	if err != nil {
		return nil, err
	}
	alg := t.Method.Alg()
	var set jwt.VerificationKeySet
	for _, jwk := range all {
		m := jwk.Marshal()
		if !slices.Contains(signingUses, m.USE) || m.ALG != "" && m.ALG.String() != alg {
			continue
		}
		if key := publicKey(jwk.Key()); fits(key, alg) {
			set.Keys = append(set.Keys, key)
		}
	}
	if len(set.Keys) == 0 {
		return nil, ErrUnknownKey
	}
	return set, nil
}

func publicKey(k any) any {
	if p, ok := k.(interface{ Public() crypto.PublicKey }); ok {
		return p.Public()
	}
	return k
}

// fits reports a key of the type the JWS algorithm needs.
func fits(key any, alg string) bool {
	switch key.(type) {
	case *rsa.PublicKey:
		return strings.HasPrefix(alg, "RS") || strings.HasPrefix(alg, "PS")
	case *ecdsa.PublicKey:
		return strings.HasPrefix(alg, "ES")
	case ed25519.PublicKey:
		return alg == "EdDSA"
	}
	return false
}
