package admin

import (
	"net/http"

	"github.com/tollgate/tollgate/authz/catalog"
)

// exportDocument is the data file of the store's content, in JSON, which YAML reads
// too: `tollgate import` takes it back. It has no keys, so no secret or its hash.
type exportDocument struct {
	APIs          []API               `json:"apis"`
	Applications  []exportApplication `json:"applications"`
	Subscriptions []Subscription      `json:"subscriptions"`
}

// exportApplication is an application of the data file: its external bindings only.
type exportApplication struct {
	Name      string    `json:"name"`
	ClientIDs []Binding `json:"client_ids"`
}

func (h *handler) export(_ http.ResponseWriter, r *http.Request) (reply, error) {
	cat, err := h.store.Catalog(r.Context())
	if err != nil {
		return reply{}, err
	}
	return ok(exportOf(cat)), nil
}

func exportOf(cat *catalog.Catalog) exportDocument {
	doc := exportDocument{
		APIs:          make([]API, len(cat.APIs)),
		Applications:  make([]exportApplication, len(cat.Applications)),
		Subscriptions: make([]Subscription, len(cat.Subscriptions)),
	}
	for i, a := range cat.APIs {
		doc.APIs[i] = apiBodyOf(a)
	}
	for i, app := range cat.Applications {
		doc.Applications[i] = exportApplication{Name: app.Name, ClientIDs: externalBindings(app)}
	}
	for i, s := range cat.Subscriptions {
		doc.Subscriptions[i] = Subscription(s)
	}
	return doc
}
