package admin

import (
	"net/http"
	"time"

	"github.com/tollgate/tollgate/authz/catalog"
	"github.com/tollgate/tollgate/authz/store"
	"github.com/tollgate/tollgate/authz/sts"
)

// Key is an application's STS credential for one environment, without its secret.
type Key struct {
	ClientID    string    `json:"client_id"`
	Environment string    `json:"environment"`
	CreatedAt   time.Time `json:"created_at"`
}

// GeneratedKey is a new key with its secret: the only answer that ever shows one.
type GeneratedKey struct {
	Application  string `json:"application"`
	Environment  string `json:"environment"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
}

func (h *handler) listKeys(_ http.ResponseWriter, r *http.Request) (reply, error) {
	p, err := parsePage(r)
	if err != nil {
		return reply{}, err
	}
	app, err := h.findApplication(r)
	if err != nil {
		return reply{}, err
	}
	keys, err := h.keys(r.Context(), app)
	if err != nil {
		return reply{}, err
	}
	items, next := paginate(keys, func(k Key) string { return k.Environment }, p)
	return ok(List[Key]{Items: items, NextPageToken: next}), nil
}

// createKey makes a new key for the environment, replacing (and so revoking) the
// one the application had there.
func (h *handler) createKey(w http.ResponseWriter, r *http.Request) (reply, error) {
	if h.sealer == nil {
		return reply{}, errNotImplemented("the STS is off: this server issues no keys")
	}
	var req struct {
		Environment string `json:"environment"`
	}
	if err := decode(w, r, &req, false); err != nil {
		return reply{}, err
	}
	if err := catalog.ValidateEnvironment(req.Environment); err != nil {
		return reply{}, errInvalid("%v", err)
	}
	app, err := h.findApplication(r)
	if err != nil {
		return reply{}, err
	}
	id, secret := sts.NewClientID(), sts.NewSecret()
	c := store.Credential{ClientID: id, Application: app.Name, Environment: req.Environment,
		SecretHash: h.sealer.HashSecret(secret), CreatedAt: time.Now()}
	if err := h.store.PutCredential(r.Context(), actor, c); err != nil {
		return reply{}, err
	}
	return created(GeneratedKey{Application: app.Name, Environment: req.Environment, ClientID: id, ClientSecret: secret}), nil
}

func (h *handler) deleteKey(_ http.ResponseWriter, r *http.Request) (reply, error) {
	app, err := pathName(r, "app", "application")
	if err != nil {
		return reply{}, err
	}
	env := r.PathValue("environment")
	if err := catalog.ValidateEnvironment(env); err != nil {
		return reply{}, errInvalid("%v", err)
	}
	return noContent, h.store.DeleteCredential(r.Context(), actor, app, env)
}
