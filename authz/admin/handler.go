package admin

import (
	"crypto/sha256"
	"log/slog"
	"net/http"
	"strings"

	"github.com/tollgate/tollgate/authz/catalog"
	"github.com/tollgate/tollgate/authz/store"
	"github.com/tollgate/tollgate/authz/sts"
)

// Options are the parts of the admin API.
type Options struct {
	// Store holds the data the API reads and changes. Required.
	Store store.Store
	// Sealer hashes the secrets of new keys. Nil, when the STS is off, makes key
	// creation answer 501 not_implemented.
	Sealer *sts.Sealer
	// Issuers are the names of the configured external issuers: those whose client
	// IDs may be bound to an application.
	Issuers []string
	// Token is the admin bearer token. Empty refuses every request.
	Token string
	// Log receives internal errors and refused requests, never a secret; nil discards.
	Log *slog.Logger
	// ImportOpenAPI turns an OpenAPI 3.0 or 3.1 document (YAML or JSON) into an API
	// named name on the context path context. Nil makes the import endpoint answer
	// 501 not_implemented.
	ImportOpenAPI func(raw []byte, name, context string) (catalog.API, error)
	// Debug, when not nil, serves DebugPath and below (Go's pprof profiles), behind
	// the admin token like every endpoint of the API.
	Debug http.Handler
}

// DebugPath is where Options.Debug is served.
const DebugPath = "/debug/pprof/"

// actor is who the audit trail records for every change made through this API.
const actor = "admin"

// prefix is the base path of every endpoint.
const prefix = "/admin/v1"

// handler serves the admin API. It holds nothing that changes after NewHandler.
type handler struct {
	store         store.Store
	sealer        *sts.Sealer
	issuers       []string
	tokenHash     [sha256.Size]byte
	tokenSet      bool
	log           *slog.Logger
	importOpenAPI func(raw []byte, name, context string) (catalog.API, error)
	mux           *http.ServeMux
}

// NewHandler returns the handler of the admin API, for its own listener. It panics
// if o.Store is nil, as a programming error.
func NewHandler(o Options) http.Handler {
	return newHandler(o)
}

func newHandler(o Options) *handler {
	if o.Store == nil {
		panic("admin.NewHandler: Options.Store is nil")
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &handler{
		store: o.Store, sealer: o.Sealer, issuers: o.Issuers, log: log,
		tokenHash: sha256.Sum256([]byte(o.Token)), tokenSet: o.Token != "",
		importOpenAPI: o.ImportOpenAPI, mux: http.NewServeMux(),
	}
	for _, rt := range h.routes() {
		h.mux.HandleFunc(rt.method+" "+rt.path, h.handle(rt.serve))
	}
	if o.Debug != nil {
		h.mux.Handle(DebugPath, o.Debug)
	}
	h.mux.HandleFunc("/", h.noRoute)
	return h
}

// route is one endpoint: a method, an http.ServeMux path pattern and what serves it.
type route struct {
	method string
	path   string
	serve  endpoint
}

// routes is every endpoint of the API; openapi.json describes each of them.
func (h *handler) routes() []route {
	const (
		get, post, put, del = http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete
		app                 = prefix + "/applications/{app}"
		api                 = prefix + "/apis/{api}"
		sub                 = prefix + "/subscriptions/{app}/{api}"
	)
	return []route{
		{get, prefix + "/applications", h.listApplications},
		{post, prefix + "/applications", h.createApplication},
		{get, app, h.getApplication},
		{del, app, h.deleteApplication},
		{get, app + "/keys", h.listKeys},
		{post, app + "/keys", h.createKey},
		{del, app + "/keys/{environment}", h.deleteKey},
		{post, app + "/bindings", h.createBinding},
		{del, app + "/bindings/{issuer}/{client_id}", h.deleteBinding},
		{get, prefix + "/apis", h.listAPIs},
		{post, prefix + "/apis", h.createAPI},
		{post, prefix + "/apis/import", h.importAPI},
		{get, api, h.getAPI},
		{put, api, h.putAPI},
		{del, api, h.deleteAPI},
		{get, prefix + "/subscriptions", h.listSubscriptions},
		{get, sub, h.getSubscription},
		{put, sub, h.putSubscription},
		{del, sub, h.deleteSubscription},
		{get, prefix + "/export", h.export},
		{get, openAPIPath, h.openAPI},
	}
}

// ServeHTTP answers a request that carries the admin token, or one for the OpenAPI
// description, which needs none.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != openAPIPath && !h.authorized(r) {
		h.log.Warn("admin request refused: no or wrong token", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr)
		writeError(w, errUnauthorized())
		return
	}
	h.mux.ServeHTTP(w, r)
}

// endpoint serves one route: it returns the reply, or the error to answer with.
type endpoint func(w http.ResponseWriter, r *http.Request) (reply, error)

// reply is a successful answer: a status and, unless it is 204, a JSON body.
type reply struct {
	status int
	body   any
}

func ok(body any) reply      { return reply{http.StatusOK, body} }
func created(body any) reply { return reply{http.StatusCreated, body} }

// okOrCreated is 201 with body if the thing was new, else 200.
func okOrCreated(isNew bool, body any) reply {
	if isNew {
		return created(body)
	}
	return ok(body)
}

var noContent = reply{status: http.StatusNoContent}

// handle adapts an endpoint to http.Handler: it writes the reply, or the error.
func (h *handler) handle(serve endpoint) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rep, err := serve(w, r)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if rep.status == http.StatusNoContent {
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(rep.status)
			return
		}
		writeJSON(w, rep.status, rep.body)
	}
}

// allMethods are the methods a route may have, in the order Allow lists them.
var allMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodDelete}

// noRoute answers a request no route matched: 405 with Allow when the path has
// routes for other methods, else 404.
func (h *handler) noRoute(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range allMethods {
		probe := r.WithContext(r.Context())
		probe.Method = m
		if _, pattern := h.mux.Handler(probe); pattern != "/" {
			allow = append(allow, m)
		}
	}
	if len(allow) == 0 {
		writeError(w, errNotFound("there is no endpoint at this path"))
		return
	}
	w.Header().Set("Allow", strings.Join(allow, ", "))
	writeError(w, errMethod(r.Method, allow))
}
