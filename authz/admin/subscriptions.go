package admin

import (
	"net/http"

	"github.com/tollgate/tollgate/authz/catalog"
)

// Subscription is an application's subscription to an API.
type Subscription struct {
	Application string `json:"application"`
	API         string `json:"api"`
	Status      string `json:"status"`
}

// listSubscriptions lists the subscriptions, by application then API, of the
// application and the API the query names, if it does.
func (h *handler) listSubscriptions(_ http.ResponseWriter, r *http.Request) (reply, error) {
	p, err := parsePage(r)
	if err != nil {
		return reply{}, err
	}
	q := r.URL.Query()
	app, api := q.Get("application"), q.Get("api")
	if err := validateFilter("application", app); err != nil {
		return reply{}, err
	}
	if err := validateFilter("API", api); err != nil {
		return reply{}, err
	}
	cat, err := h.store.Catalog(r.Context())
	if err != nil {
		return reply{}, err
	}
	var match []catalog.Subscription
	for _, s := range cat.Subscriptions {
		if (app == "" || s.Application == app) && (api == "" || s.API == api) {
			match = append(match, s)
		}
	}
	subs, next := paginate(match, subscriptionKey, p)
	items := make([]Subscription, len(subs))
	for i, s := range subs {
		items[i] = Subscription(s)
	}
	return ok(List[Subscription]{Items: items, NextPageToken: next}), nil
}

// subscriptionKey sorts subscriptions by application, then API: no name holds the
// separator, which sorts before every character a name may have.
func subscriptionKey(s catalog.Subscription) string { return s.Application + "\x00" + s.API }

// validateFilter refuses a query filter that is set but no valid name.
func validateFilter(what, name string) error {
	if name == "" {
		return nil
	}
	if err := catalog.ValidateName(name); err != nil {
		return errInvalid("%s %v", what, err)
	}
	return nil
}

func (h *handler) getSubscription(_ http.ResponseWriter, r *http.Request) (reply, error) {
	app, api, err := subscriptionPath(r)
	if err != nil {
		return reply{}, err
	}
	cat, err := h.store.Catalog(r.Context())
	if err != nil {
		return reply{}, err
	}
	s, found := findSubscription(cat, app, api)
	if !found {
		return reply{}, errNotFound("application %q has no subscription to API %q", app, api)
	}
	return ok(Subscription(s)), nil
}

// putSubscription creates or updates a subscription; status left out is active.
func (h *handler) putSubscription(w http.ResponseWriter, r *http.Request) (reply, error) {
	app, api, err := subscriptionPath(r)
	if err != nil {
		return reply{}, err
	}
	req := struct {
		Status string `json:"status"`
	}{Status: catalog.Active}
	if err := decode(w, r, &req, true); err != nil {
		return reply{}, err
	}
	if err := catalog.ValidateStatus(req.Status); err != nil {
		return reply{}, errInvalid("%v", err)
	}
	existed, err := h.subscriptionExists(r, app, api)
	if err != nil {
		return reply{}, err
	}
	s := catalog.Subscription{Application: app, API: api, Status: req.Status}
	if err := h.store.PutSubscription(r.Context(), actor, s); err != nil {
		return reply{}, err
	}
	return okOrCreated(!existed, Subscription(s)), nil
}

// subscriptionExists reports whether the subscription exists, and is not_found when
// its application or API does not.
func (h *handler) subscriptionExists(r *http.Request, app, api string) (bool, error) {
	cat, err := h.store.Catalog(r.Context())
	if err != nil {
		return false, err
	}
	if _, found := lookup(cat.Applications, func(a catalog.Application) bool { return a.Name == app }); !found {
		return false, errNotFound("application %q does not exist", app)
	}
	if _, found := lookup(cat.APIs, func(a catalog.API) bool { return a.Name == api }); !found {
		return false, errNotFound("API %q does not exist", api)
	}
	_, found := findSubscription(cat, app, api)
	return found, nil
}

func (h *handler) deleteSubscription(_ http.ResponseWriter, r *http.Request) (reply, error) {
	app, api, err := subscriptionPath(r)
	if err != nil {
		return reply{}, err
	}
	return noContent, h.store.DeleteSubscription(r.Context(), actor, app, api)
}

// subscriptionPath returns the application and API names of the path.
func subscriptionPath(r *http.Request) (app, api string, err error) {
	if app, err = pathName(r, "app", "application"); err != nil {
		return "", "", err
	}
	if api, err = pathName(r, "api", "API"); err != nil {
		return "", "", err
	}
	return app, api, nil
}

func findSubscription(cat *catalog.Catalog, app, api string) (catalog.Subscription, bool) {
	return lookup(cat.Subscriptions, func(s catalog.Subscription) bool { return s.Application == app && s.API == api })
}
