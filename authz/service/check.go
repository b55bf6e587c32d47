package service

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/tollgate/tollgate/authz/httpcheck"
)

// newCheck prepares the server of the HTTP check endpoints; nil when check.address is
// empty.
func (s *Service) newCheck() *http.Server {
	if !s.cfg.Check.On() {
		return nil
	}
	return &http.Server{
		Handler:   httpcheck.Handler(s.authz, s.log),
		TLSConfig: tlsConfig(s.tls.check),
		ErrorLog:  serverLog(s.log, "check"),
		// A proxy's check has headers only; it may keep its connections open long.
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		IdleTimeout:       5 * time.Minute,
	}
}

// startCheck listens on check.address and serves the HTTP check endpoints in the
// background.
func (s *Service) startCheck() error {
	if s.check == nil {
		return nil
	}
	ln, err := net.Listen("tcp", s.cfg.Check.Address)
	if err != nil {
		return fmt.Errorf("check listener: %w", err)
	}
	s.checkLn = ln
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := serveHTTP(s.check, ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.errs <- fmt.Errorf("check server: %w", err)
		}
	}()
	s.log.Info("HTTP check endpoints serving", "address", ln.Addr().String(), "transport", s.cfg.Check.TLS.Mode(),
		"envoy", httpcheck.EnvoyPrefix, "nginx", httpcheck.NginxPath, "forward", httpcheck.ForwardPath)
	return nil
}

// CheckAddr is the address the HTTP check endpoints listen on; empty when they are off.
func (s *Service) CheckAddr() string {
	if s.checkLn == nil {
		return ""
	}
	return s.checkLn.Addr().String()
}
