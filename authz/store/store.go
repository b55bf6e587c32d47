// Package store keeps what Tollgate must not lose on restart: APIs with their resources
// and scopes, applications, the STS credentials and external client-ID bindings of each
// application, subscriptions, the STS signing keys and an audit trail of every change.
//
// Store is the contract; Open returns the embedded SQLite implementation. A PostgreSQL
// implementation, for several STS replicas, can follow behind the same interface.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/tollgate/tollgate/authz/catalog"
)

// ErrNotFound is returned when the thing asked for, or asked to delete, does not exist.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned when a change would break the store's consistency: a name or
// client ID already taken, a reference to something that does not exist, or a delete
// of something still referred to.
var ErrConflict = errors.New("conflict")

// STSIssuer is the issuer name of the credentials the built-in STS issues; in the
// catalog they appear as client-ID bindings of this issuer.
const STSIssuer = "tollgate"

// Store is the durable state of Tollgate. Every change is one transaction that also
// appends to the audit trail and advances Version. Actor names who made the change
// ("import", "sts", "admin:alice"); it is recorded, never trusted.
type Store interface {
	// Catalog returns the APIs, applications and subscriptions as the decision path
	// reads them. STS credentials appear as client-ID bindings of issuer STSIssuer.
	Catalog(ctx context.Context) (*catalog.Catalog, error)
	// Version changes with every committed change, by this process or another one on
	// the same store, so a poller can tell when to read the catalog again.
	Version(ctx context.Context) (int64, error)

	// Import upserts every API, application, client-ID binding and subscription of c
	// in one transaction. It deletes nothing. c must be valid (catalog.Validate).
	Import(ctx context.Context, actor string, c *catalog.Catalog) error
	// PutAPI creates or replaces an API and all its resources.
	PutAPI(ctx context.Context, actor string, api catalog.API) error
	// PutApplication creates an application; an existing one is left as it is.
	PutApplication(ctx context.Context, actor, name string) error
	// BindClientID binds an external issuer's client ID to an application. A client ID
	// belongs to one application: binding it to another is ErrConflict.
	BindClientID(ctx context.Context, actor, application string, b catalog.ClientID) error
	// PutSubscription creates or updates a subscription.
	PutSubscription(ctx context.Context, actor string, s catalog.Subscription) error

	// CreateAPI creates an API like PutAPI, but is ErrConflict if the name is taken.
	CreateAPI(ctx context.Context, actor string, api catalog.API) error
	// CreateApplication creates an application, or is ErrConflict if it exists.
	CreateApplication(ctx context.Context, actor, name string) error
	// DeleteAPI deletes an API with its resources and subscriptions.
	DeleteAPI(ctx context.Context, actor, name string) error
	// DeleteApplication deletes an application with its subscriptions, client-ID
	// bindings and STS credentials.
	DeleteApplication(ctx context.Context, actor, name string) error
	// UnbindClientID removes an external issuer's client-ID binding to the
	// application; it is ErrNotFound unless the client ID is bound to that application
	// when the change commits. STSIssuer client IDs are credentials: DeleteCredential
	// removes them.
	UnbindClientID(ctx context.Context, actor, application, issuer, clientID string) error
	// DeleteSubscription deletes the application's subscription to the API.
	DeleteSubscription(ctx context.Context, actor, application, api string) error
	// DeleteCredential deletes (and so revokes) the application's STS credential for
	// the environment.
	DeleteCredential(ctx context.Context, actor, application, environment string) error

	// PutCredential sets the application's STS credential for c.Environment, replacing
	// (and so revoking) the one it had there. A zero c.CreatedAt means now.
	PutCredential(ctx context.Context, actor string, c Credential) error
	// Credential returns the STS credential with this client ID, or ErrNotFound.
	Credential(ctx context.Context, clientID string) (Credential, error)
	// GrantableScopes returns, sorted and without duplicates, the scopes of every
	// resource of the APIs the application may call from env: subscriptions that are
	// active, and prod_only_blocked ones from the sandbox environment.
	GrantableScopes(ctx context.Context, application, env string) ([]string, error)

	// SigningKeys returns every STS signing key, oldest first.
	SigningKeys(ctx context.Context) ([]SigningKey, error)
	// RotateSigningKey adds k, which signs from k.SignsFrom, and retires as of then
	// every key that would still sign at that time (RetiredAt = k.SignsFrom,
	// RemoveAfter = removeAfter), in one transaction.
	RotateSigningKey(ctx context.Context, actor string, k SigningKey, removeAfter time.Time) error
	// PurgeSigningKeys deletes the retired keys whose RemoveAfter is before now and
	// returns their key IDs.
	PurgeSigningKeys(ctx context.Context, actor string, now time.Time) ([]string, error)

	// Audit returns the newest audit entries first, at most limit of them.
	Audit(ctx context.Context, limit int) ([]AuditEntry, error)

	// Close releases the store.
	Close() error
}

// Credential is an application's STS client for one environment. The secret itself is
// never stored: only its HMAC under the server's key.
type Credential struct {
	ClientID    string
	Application string
	// Environment is catalog.Production or catalog.Sandbox.
	Environment string
	SecretHash  []byte
	// CreatedAt is when the credential was made; PutCredential stamps a zero one.
	CreatedAt time.Time
}

// SigningKey is an STS signing key. Its private key is stored sealed (encrypted and
// authenticated); its public JWK in the clear, for the JWKS. It is published from its
// creation until RemoveAfter, and signs from SignsFrom until RetiredAt: every process
// on the store reads these times, so all switch keys at the same moment.
type SigningKey struct {
	KID       string
	Algorithm string // RS256, ES256 or EdDSA
	PublicJWK []byte // JSON
	Sealed    []byte // the encrypted private key
	CreatedAt time.Time
	// SignsFrom is when the key begins to sign: CreatedAt for a key that signs at
	// once, later for one published ahead so that caching verifiers know it first.
	SignsFrom time.Time
	// RetiredAt is when the key stops signing, set when a successor is added (and
	// so possibly in the future); zero while no successor is.
	RetiredAt time.Time
	// RemoveAfter is when every token the key signed has expired, so it may leave
	// the JWKS; zero while RetiredAt is.
	RemoveAfter time.Time
}

// KeyState is what a signing key does at a given time.
type KeyState string

// The states of a signing key.
const (
	// KeyPending is a key in the JWKS that does not sign yet.
	KeyPending KeyState = "pending"
	// KeyActive is the key that signs new tokens.
	KeyActive KeyState = "active"
	// KeyRetired is a key that signs no more, in the JWKS until RemoveAfter.
	KeyRetired KeyState = "retired"
)

// State is what k does at t. A key retired at or before its SignsFrom (its successor
// came first, as after `tollgate keys rotate --now`) never signs: it is retired.
func (k SigningKey) State(t time.Time) KeyState {
	switch {
	case !k.RetiredAt.IsZero() && (!t.Before(k.RetiredAt) || !k.RetiredAt.After(k.SignsFrom)):
		return KeyRetired
	case t.Before(k.SignsFrom):
		return KeyPending
	}
	return KeyActive
}

// AuditEntry is one recorded change. Detail never holds a secret.
type AuditEntry struct {
	ID     int64
	At     time.Time
	Actor  string
	Action string // e.g. "api.put", "credential.put", "signing_key.rotate"
	Target string // what changed: an API or application name, a client ID, a kid
	Detail string // JSON with what else is worth knowing
}
