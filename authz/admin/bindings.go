package admin

import (
	"net/http"
	"slices"
	"strings"

	"github.com/tollgate/tollgate/authz/catalog"
	"github.com/tollgate/tollgate/authz/store"
)

// Binding is an external issuer's client ID bound to an application.
type Binding struct {
	Issuer      string `json:"issuer"`
	ClientID    string `json:"client_id"`
	Environment string `json:"environment"`
}

// createBinding binds a client ID of a configured external issuer to the application,
// or moves its binding there to another environment, and answers the application.
func (h *handler) createBinding(w http.ResponseWriter, r *http.Request) (reply, error) {
	var req Binding
	if err := decode(w, r, &req, false); err != nil {
		return reply{}, err
	}
	if err := h.checkBinding(req); err != nil {
		return reply{}, err
	}
	app, err := h.findApplication(r)
	if err != nil {
		return reply{}, err
	}
	b := catalog.ClientID{Issuer: req.Issuer, ClientID: req.ClientID, Environment: req.Environment}
	if err := h.store.BindClientID(r.Context(), actor, app.Name, b); err != nil {
		return reply{}, err
	}
	if app, err = h.findApplication(r); err != nil {
		return reply{}, err
	}
	view, err := h.applicationOf(r.Context(), app)
	if err != nil {
		return reply{}, err
	}
	return created(view), nil
}

// checkBinding refuses a binding to an issuer that is not a configured external one
// (the built-in STS's client IDs are keys), and a bad client ID or environment.
func (h *handler) checkBinding(b Binding) error {
	if b.Issuer == store.STSIssuer {
		return errInvalid("issuer %q is the built-in STS, whose client IDs are keys: POST %s/applications/{app}/keys makes one", b.Issuer, prefix)
	}
	if !slices.Contains(h.issuers, b.Issuer) {
		configured := "none"
		if len(h.issuers) > 0 {
			configured = strings.Join(h.issuers, ", ")
		}
		return errInvalid("issuer %q is not a configured external issuer (configured: %s)", b.Issuer, configured)
	}
	if err := catalog.ValidateClientID(b.ClientID); err != nil {
		return errInvalid("%v", err)
	}
	if err := catalog.ValidateEnvironment(b.Environment); err != nil {
		return errInvalid("%v", err)
	}
	return nil
}

// deleteBinding removes a binding of the application. Any issuer's binding may go,
// also one no longer configured. The store deletes it only if it still belongs to the
// application when the delete commits: a concurrent rebind to another application is
// answered 404, never undone.
func (h *handler) deleteBinding(_ http.ResponseWriter, r *http.Request) (reply, error) {
	app, err := h.findApplication(r)
	if err != nil {
		return reply{}, err
	}
	issuer, clientID := r.PathValue("issuer"), r.PathValue("client_id")
	if issuer == store.STSIssuer {
		return reply{}, errNotFound("issuer %q client IDs are keys, not bindings: DELETE %s/applications/%s/keys/{environment} revokes one", issuer, prefix, app.Name)
	}
	return noContent, h.store.UnbindClientID(r.Context(), actor, app.Name, issuer, clientID)
}

// externalBindings returns the application's client IDs but the STS's, which are keys.
func externalBindings(app catalog.Application) []Binding {
	out := []Binding{}
	for _, b := range app.ClientIDs {
		if b.Issuer != store.STSIssuer {
			out = append(out, Binding{Issuer: b.Issuer, ClientID: b.ClientID, Environment: b.Environment})
		}
	}
	return out
}
