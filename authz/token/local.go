package token

import (
	"fmt"
	"log/slog"
)

// LocalKeys is the key set of an issuer in the same process, the built-in STS: the
// issuer hands its JWKS over with Publish, and the next check verifies with it. There
// is no fetch, so a rotation is seen at once and an unknown kid is simply unknown.
type LocalKeys struct {
	ks *keySet
}

// NewLocalKeys returns an empty key set for the issuer named name; until the first
// Publish its tokens are denied with keys_unavailable.
func NewLocalKeys(name string, log *slog.Logger) *LocalKeys {
	ks := &keySet{src: keySource{name: name}, log: log, done: make(chan struct{}), first: make(chan struct{}), closed: true}
	ks.settings.Store(&keySettings{})
	ks.status = Status{Name: name, Source: "in-process"}
	close(ks.done)
	ks.endFirst()
	return &LocalKeys{ks: ks}
}

// Publish replaces the key set with jwks, a JWK Set. A set without a usable signing
// key is refused and the last one is kept.
func (l *LocalKeys) Publish(jwks []byte) error {
	k, err := l.ks.parse(jwks)
	l.ks.publish(k, err)
	if err != nil {
		return fmt.Errorf("issuer %s: %w", l.ks.src.name, err)
	}
	return nil
}

// Status returns the key set's status.
func (l *LocalKeys) Status() Status { return l.ks.Status() }
