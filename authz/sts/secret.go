package sts

import (
	"crypto/rand"
	"encoding/base64"
)

// SecretPrefix starts every client secret, so secret scanners (and people) can tell a
// leaked Tollgate secret from any other random string.
const SecretPrefix = "tgs_"

const (
	secretBytes   = 32 // 256 bits: no guessing, and a fast hash suffices to store it
	clientIDBytes = 18 // 144 bits: unguessable, and 24 characters without padding
)

// NewSecret returns a new client secret: SecretPrefix and 32 random bytes in base64url
// without padding. Only its HashSecret is stored; the client is shown it once.
func NewSecret() string {
	return SecretPrefix + randomString(secretBytes)
}

// NewClientID returns a new client ID: 18 random bytes in base64url, 24 characters.
// It is not secret, but random so that client IDs reveal nothing about applications.
func NewClientID() string {
	return randomString(clientIDBytes)
}

func randomString(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails since Go 1.24
	return base64.RawURLEncoding.EncodeToString(b)
}
