package service

import (
	"context"
	"net/http"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/tollgate/tollgate/authz"
	"github.com/tollgate/tollgate/authz/token"
)

// healthEvery is how often gRPC health follows readiness; a reload updates it at once.
const healthEvery = time.Second

// readiness is everything readiness depends on, served on the debug listener at
// DebugReadyPath: what is loaded from where, each issuer's key source and last
// error, and the last reload with its error.
type readiness struct {
	Status     string          `json:"status"` // ready or not_ready
	Reason     string          `json:"reason,omitempty"`
	State      authz.StateInfo `json:"state"`
	Issuers    []token.Status  `json:"issuers"`
	LastReload *reloadResult   `json:"last_reload,omitempty"`
}

// publicReadiness is the body of /readyz, which shares its listener with the STS and
// so faces clients: ready or not for each part and overall, the reason in generic
// words, and when the last reload ran and whether it succeeded. It names no file, no
// store path, no key source, no error text and no issuer: which issuers a deployment
// trusts, and what its operators called them, is not for its clients to learn.
type publicReadiness struct {
	Status     string         `json:"status"` // ready or not_ready
	Reason     string         `json:"reason,omitempty"`
	Policies   string         `json:"policies"` // ready or not_ready, as the others
	Data       string         `json:"data"`
	Issuers    issuerCounts   `json:"issuers"`
	LastReload *reloadOutcome `json:"last_reload,omitempty"`
}

// issuerCounts counts the issuers, the built-in STS among them, by whether they have
// signing keys.
type issuerCounts struct {
	Ready    int `json:"ready"`
	NotReady int `json:"not_ready"`
}

// reloadOutcome is the public part of a reloadResult.
type reloadOutcome struct {
	At time.Time `json:"at"`
	OK bool      `json:"ok"`
}

// Values of the status fields.
const (
	statusReady    = "ready"
	statusNotReady = "not_ready"
)

// ready reports whether checks can be decided: the policies and data are loaded
// (always so once New has returned: a failed reload keeps the last good State), every
// issuer's first key-set fetch has ended (so a new replica does not take traffic a few
// milliseconds before it could verify it), and at least one issuer has keys. A token of an issuer without keys is denied, not
// failed open, so one issuer that is down does not take the others out of service.
func (s *Service) ready() readiness {
	st := s.authz.State()
	r := readiness{Status: statusReady, State: st.Info, Issuers: st.Verifier.Status()}
	switch {
	case !st.Verifier.Attempted():
		r.Status, r.Reason = statusNotReady, "waiting for the first key-set fetch of every issuer"
	case !st.Verifier.HasKeys():
		r.Status, r.Reason = statusNotReady, "no issuer has signing keys"
	}
	s.infoMu.Lock()
	if !s.lastReload.At.IsZero() {
		last := s.lastReload
		r.LastReload = &last
	}
	s.infoMu.Unlock()
	return r
}

// public keeps of r what /readyz may show anyone.
func (r readiness) public() publicReadiness {
	p := publicReadiness{
		Status:   r.Status,
		Reason:   r.Reason,
		Policies: componentStatus(len(r.State.Policies) > 0),
		Data:     componentStatus(!r.State.LoadedAt.IsZero()),
	}
	for _, is := range r.Issuers {
		if is.Keys > 0 {
			p.Issuers.Ready++
		} else {
			p.Issuers.NotReady++
		}
	}
	if r.LastReload != nil {
		p.LastReload = &reloadOutcome{At: r.LastReload.At, OK: r.LastReload.OK}
	}
	return p
}

func componentStatus(ok bool) string {
	if ok {
		return statusReady
	}
	return statusNotReady
}

// serveReady answers /readyz: 200 when ready, else 503, with the public body.
func (s *Service) serveReady(w http.ResponseWriter, _ *http.Request) {
	r := s.ready()
	writeJSON(w, r.code(), r.public())
}

// serveReadyDetails answers DebugReadyPath on the debug listener: the status code of
// /readyz, with every detail.
func (s *Service) serveReadyDetails(w http.ResponseWriter, _ *http.Request) {
	r := s.ready()
	writeJSON(w, r.code(), r)
}

func (r readiness) code() int {
	if r.Status != statusReady {
		return http.StatusServiceUnavailable
	}
	return http.StatusOK
}

// updateHealth makes gRPC health say what /readyz says.
func (s *Service) updateHealth() {
	status := healthpb.HealthCheckResponse_SERVING
	if s.ready().Status != statusReady {
		status = healthpb.HealthCheckResponse_NOT_SERVING
	}
	s.health.SetServingStatus("", status)
	s.health.SetServingStatus(authv3.Authorization_ServiceDesc.ServiceName, status)
}

// followHealth keeps gRPC health current as key sets come and go.
func (s *Service) followHealth(ctx context.Context) {
	t := time.NewTicker(healthEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.updateHealth()
		}
	}
}
