package service

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/tollgate/tollgate/authz/admin"
	"github.com/tollgate/tollgate/authz/config"
	"github.com/tollgate/tollgate/authz/openapi"
)

// newAdmin prepares the admin API's server, in store mode; nil otherwise.
func (s *Service) newAdmin(cfg *config.Config) (*http.Server, error) {
	if s.backing.store == nil {
		return nil, nil
	}
	token, err := adminToken(cfg.Admin.TokenFile, s.log)
	if err != nil {
		return nil, err
	}
	issuers := make([]string, len(cfg.Issuers))
	for i, is := range cfg.Issuers {
		issuers[i] = is.Name
	}
	h := admin.NewHandler(admin.Options{
		Store: s.backing.store, Sealer: s.backing.sealer, Issuers: issuers, Token: token, Log: s.log,
		ImportOpenAPI: openapi.Import, Debug: pprofHandler(),
	})
	return &http.Server{Handler: s.appliedBeforeAnswer(h), TLSConfig: tlsConfig(s.tls.admin), ErrorLog: serverLog(s.log, "admin"),
		ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second, IdleTimeout: time.Minute}, nil
}

// startAdmin listens on admin.address and serves the admin API in the background.
func (s *Service) startAdmin() error {
	if s.admin == nil {
		return nil
	}
	ln, err := net.Listen("tcp", s.cfg.Admin.Address)
	if err != nil {
		return fmt.Errorf("admin listener: %w", err)
	}
	s.adminLn = ln
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := serveHTTP(s.admin, ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.errs <- fmt.Errorf("admin server: %w", err)
		}
	}()
	s.log.Info("admin API serving", "address", ln.Addr().String(), "transport", s.cfg.Admin.TLS.Mode(),
		"token_file", s.cfg.Admin.TokenFile)
	return nil
}

// AdminAddr is the address the admin API listens on; empty without a store.
func (s *Service) AdminAddr() string {
	if s.adminLn == nil {
		return ""
	}
	return s.adminLn.Addr().String()
}

// appliedBeforeAnswer makes a change through the admin API reach the decision path
// before its answer is sent, so the next command (a check, say) sees it; changes by
// other processes are applied within store.poll_interval instead.
func (s *Service) appliedBeforeAnswer(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead || strings.HasPrefix(r.URL.Path, admin.DebugPath) {
			h.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code < 300 {
			_ = s.refresh("admin change", s.reloadData) // a failure is logged; the store poll retries
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	})
}
