package service

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/tollgate/tollgate/authz/admin"
)

// DebugReadyPath is where the debug listener serves the full readiness details: what
// /readyz said before it faced the STS's clients, and says no more.
const DebugReadyPath = "/debug/readyz"

// newDebug prepares the debug listener's server when debug.address is set, in data
// mode and store mode alike: the readiness details at DebugReadyPath and Go's
// profiles under admin.DebugPath. It asks for no credentials; the configuration
// accepts only a loopback address for it.
func (s *Service) newDebug() *http.Server {
	if !s.cfg.Debug.On() {
		return nil
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+DebugReadyPath, s.serveReadyDetails)
	mux.Handle(admin.DebugPath, pprofHandler())
	// No ReadTimeout or WriteTimeout: a CPU profile or a trace answers after the
	// seconds it was asked for.
	return &http.Server{Handler: mux, ErrorLog: serverLog(s.log, "debug"),
		ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute}
}

// startDebug listens on debug.address and serves in the background. It refuses an
// address that resolved off loopback (localhost mapped elsewhere in /etc/hosts), as
// the configuration refuses one written so.
func (s *Service) startDebug() error {
	if s.debug == nil {
		return nil
	}
	ln, err := net.Listen("tcp", s.cfg.Debug.Address)
	if err != nil {
		return fmt.Errorf("debug listener: %w", err)
	}
	if a, ok := ln.Addr().(*net.TCPAddr); !ok || !a.IP.IsLoopback() {
		_ = ln.Close()
		return fmt.Errorf("debug listener: debug.address %q listens on %s, which is not loopback", s.cfg.Debug.Address, ln.Addr())
	}
	s.debugLn = ln
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.debug.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.errs <- fmt.Errorf("debug server: %w", err)
		}
	}()
	s.log.Info("debug listener serving", "address", ln.Addr().String(), "readiness", DebugReadyPath, "pprof", admin.DebugPath)
	return nil
}

// DebugAddr is the address the debug listener listens on; empty when it is off.
func (s *Service) DebugAddr() string {
	if s.debugLn == nil {
		return ""
	}
	return s.debugLn.Addr().String()
}

// pprofHandler serves Go's profiles under admin.DebugPath: the index, cpu (profile),
// trace, cmdline, symbol, and the named profiles (heap, allocs, goroutine, mutex,
// block, threadcreate) through the index. The debug listener serves it as is, the
// admin listener behind its token.
func pprofHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(admin.DebugPath, pprof.Index)
	mux.HandleFunc(admin.DebugPath+"cmdline", pprof.Cmdline)
	mux.HandleFunc(admin.DebugPath+"profile", pprof.Profile)
	mux.HandleFunc(admin.DebugPath+"symbol", pprof.Symbol)
	mux.HandleFunc(admin.DebugPath+"trace", pprof.Trace)
	return mux
}
