package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tollgate/tollgate/authz/config"
)

// tokenFlags are the claims and header of a token minted with a local key.
type tokenFlags struct {
	key      string
	kid      string
	typ      string
	issuer   string
	subject  string
	clientID string
	scope    string
	audience string
	ttl      time.Duration
	// With a client secret, the token comes from an STS instead.
	secret string
	sts    string
	config string
	tls    tlsFlags
}

func runToken(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	var f tokenFlags
	fs.StringVar(&f.secret, "client-secret", "", "ask the STS for a token for --client-id with this secret (client_credentials) instead of minting one")
	fs.StringVar(&f.sts, "sts", "", "the STS token endpoint `URL` (default: sts.issuer of --config + /oauth2/token)")
	fs.StringVar(&f.config, "config", defaultConfig(), "configuration `file` for the STS's URL")
	fs.StringVar(&f.key, "sign-with", "", "PEM private `key` file (RSA, EC P-256/384/521 or Ed25519) to sign with")
	fs.StringVar(&f.kid, "kid", "", "key ID for the JWT header; must match the kid in the issuer's JWKS")
	fs.StringVar(&f.typ, "typ", "at+jwt", "JWT header typ")
	fs.StringVar(&f.issuer, "issuer", "", "iss claim (required)")
	fs.StringVar(&f.subject, "sub", "", "sub claim (default: the client ID)")
	fs.StringVar(&f.clientID, "client-id", "", "client_id claim (required)")
	fs.StringVar(&f.scope, "scope", "", "space-separated scopes (asked of the STS, or put in the token)")
	fs.StringVar(&f.audience, "aud", "", "aud claim")
	fs.DurationVar(&f.ttl, "ttl", time.Hour, "lifetime of the token")
	f.tls.register(fs)
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	if f.secret != "" {
		tok, err := f.request()
		if err != nil {
			return exitFor(err, "token", stderr)
		}
		fmt.Fprintln(stdout, tok)
		return exitOK
	}
	tok, err := f.mint(time.Now())
	if err != nil {
		fmt.Fprintln(stderr, "tollgate token:", err)
		return exitUsage
	}
	fmt.Fprintln(stdout, tok)
	return exitOK
}

// request asks the STS for an access token with client_secret_basic.
func (f tokenFlags) request() (string, error) {
	if f.clientID == "" || f.key != "" {
		return "", errors.New("--client-secret needs --client-id, and no --sign-with")
	}
	endpoint, err := f.endpoint()
	if err != nil {
		return "", err
	}
	form := url.Values{"grant_type": {"client_credentials"}}
	if f.scope != "" {
		form.Set("scope", f.scope)
	}
	req, err := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(f.clientID), url.QueryEscape(f.secret))
	client, err := f.tls.httpClient(30 * time.Second)
	if err != nil {
		return "", err
	}
	res, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("STS: %w", err)
	}
	defer res.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := decodeAnswer(res, &body); err != nil {
		return "", err
	}
	return body.AccessToken, nil
}

// endpoint is the STS token endpoint: --sts, else the one of sts.issuer in --config.
func (f tokenFlags) endpoint() (string, error) {
	endpoint := f.sts
	if endpoint == "" {
		cfg, err := config.Load(f.config)
		if err != nil {
			return "", fmt.Errorf("no --sts given, and %w", err)
		}
		endpoint = strings.TrimSuffix(cfg.STS.Issuer, "/") + "/oauth2/token"
	}
	if f.tls.on() && !strings.HasPrefix(endpoint, "https://") {
		return "", fmt.Errorf("--tls-* flags need an https:// STS, not %q", endpoint)
	}
	return endpoint, nil
}

func (f tokenFlags) mint(now time.Time) (string, error) {
	if f.key == "" || f.issuer == "" || f.clientID == "" {
		return "", errors.New("--sign-with, --issuer and --client-id are required")
	}
	if f.ttl <= 0 {
		return "", errors.New("--ttl must be positive")
	}
	key, method, err := readPrivateKey(f.key)
	if err != nil {
		return "", err
	}
	sub := f.subject
	if sub == "" {
		sub = f.clientID
	}
	claims := jwt.MapClaims{
		"iss":       f.issuer,
		"sub":       sub,
		"client_id": f.clientID,
		"iat":       now.Unix(),
		"exp":       now.Add(f.ttl).Unix(),
		"jti":       randomID(),
	}
	if f.scope != "" {
		claims["scope"] = f.scope
	}
	if f.audience != "" {
		claims["aud"] = f.audience
	}
	t := jwt.NewWithClaims(method, claims)
	t.Header["typ"] = f.typ
	if f.kid != "" {
		t.Header["kid"] = f.kid
	}
	return t.SignedString(key)
}

// readPrivateKey reads a PEM private key (PKCS#8, PKCS#1 or SEC 1) and picks the JWS
// algorithm that fits it.
func readPrivateKey(path string) (crypto.Signer, jwt.SigningMethod, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read key: %w", err)
	}
	block, _ := pem.Decode(raw)
	if block == nil {
		return nil, nil, fmt.Errorf("%s: no PEM block", path)
	}
	var key any
	switch block.Type {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		return k, jwt.SigningMethodRS256, nil
	case *ecdsa.PrivateKey:
		switch k.Curve {
		case elliptic.P256():
			return k, jwt.SigningMethodES256, nil
		case elliptic.P384():
			return k, jwt.SigningMethodES384, nil
		case elliptic.P521():
			return k, jwt.SigningMethodES512, nil
		}
	case ed25519.PrivateKey:
		return k, jwt.SigningMethodEdDSA, nil
	}
	return nil, nil, fmt.Errorf("%s: unsupported key type %T", path, key)
}

func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
