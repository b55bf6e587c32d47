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

// readiness is the body of /readyz.
type readiness struct {
	Status     string          `json:"status"` // ready or not_ready
	Reason     string          `json:"reason,omitempty"`
	State      authz.StateInfo `json:"state"`
	Issuers    []token.Status  `json:"issuers"`
	LastReload *reloadResult   `json:"last_reload,omitempty"`
}

// ready reports whether checks can be decided: the policies and data are loaded
// (always so once New has returned: a failed reload keeps the last good State), every
// issuer's first key-set fetch has ended (so a new replica does not take traffic a few
// milliseconds before it could verify it), and at least one issuer has keys. A token of an issuer without keys is denied, not
// failed open, so one issuer that is down does not take the others out of service.
func (s *Service) ready() readiness {
	st := s.authz.State()
	r := readiness{Status: "ready", State: st.Info, Issuers: st.Verifier.Status()}
	switch {
	case !st.Verifier.Attempted():
		r.Status, r.Reason = "not_ready", "waiting for the first key-set fetch of every issuer"
	case !st.Verifier.HasKeys():
		r.Status, r.Reason = "not_ready", "no issuer has signing keys"
	}
	s.infoMu.Lock()
	if !s.lastReload.At.IsZero() {
		last := s.lastReload
		r.LastReload = &last
	}
	s.infoMu.Unlock()
	return r
}

func (s *Service) serveReady(w http.ResponseWriter, _ *http.Request) {
	r := s.ready()
	code := http.StatusOK
	if r.Status != "ready" {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, r)
}

// updateHealth makes gRPC health say what /readyz says.
func (s *Service) updateHealth() {
	status := healthpb.HealthCheckResponse_SERVING
	if s.ready().Status != "ready" {
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
