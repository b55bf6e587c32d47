// Package service runs Tollgate's listeners: the ext_authz gRPC server (with gRPC
// health and reflection), the HTTP server of /healthz, /readyz and the STS, the HTTP
// check endpoints, the admin API and the debug listener. It owns their lifecycle,
// including draining in-flight checks on shutdown.
package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"

	"github.com/tollgate/tollgate/authz"
	"github.com/tollgate/tollgate/authz/config"
)

// Service is a running Tollgate.
type Service struct {
	cfg     *config.Config // as started; a reload may change what authz.State holds
	log     *slog.Logger
	ctx     context.Context    // of the service's background work
	stop    context.CancelFunc // ends it: key-set fetches, the watcher, health updates
	authz   *authz.Server
	backing *backing // the store and the STS, in store mode
	grpc    *grpc.Server
	health  *health.Server
	http    *http.Server
	grpcLn  net.Listener
	httpLn  net.Listener
	admin   *http.Server // the admin API, in store mode
	adminLn net.Listener
	check   *http.Server // the HTTP check endpoints, unless check.address is empty
	checkLn net.Listener
	debug   *http.Server // readiness details and pprof on loopback, when debug.address is set
	debugLn net.Listener
	tls     listenerTLS // the certificates of the listeners that serve TLS
	wg      sync.WaitGroup
	errs    chan error // one place for each server's error, so none blocks on it

	resync     chan struct{} // asks the file watcher to follow a reload's paths
	reloadMu   sync.Mutex    // one reload at a time
	infoMu     sync.Mutex    // guards the two fields below
	lastReload reloadResult
	applied    *config.Config // the configuration of the current State
}

// New loads the policies, data and issuers of cfg and prepares the servers; nothing
// listens until Start.
func New(cfg *config.Config, log *slog.Logger) (*Service, error) {
	lt, err := newListenerTLS(cfg, log)
	if err != nil {
		return nil, err
	}
	ctx, stop := context.WithCancel(context.Background())
	b, err := openBacking(ctx, cfg, log)
	if err != nil {
		stop()
		return nil, err
	}
	st, err := authz.LoadState(ctx, cfg, log, nil, b.sources())
	if err != nil {
		stop()
		return nil, errors.Join(err, b.close())
	}
	s := &Service{cfg: cfg, applied: cfg, log: log, ctx: ctx, stop: stop, health: health.NewServer(), errs: make(chan error, 5),
		resync: make(chan struct{}, 1), backing: b, tls: lt}
	s.authz = authz.NewServer(st, log, cfg.Log.Decisions)
	releaseMemory()
	s.grpc = grpc.NewServer(append(lt.grpcOptions(),
		// Envoy keeps long-lived connections and pings them; accept its pings.
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
	)...)
	authv3.RegisterAuthorizationServer(s.grpc, s.authz)
	healthpb.RegisterHealthServer(s.grpc, s.health)
	reflection.Register(s.grpc)
	s.http = &http.Server{
		Handler:           s.routes(),
		TLSConfig:         tlsConfig(lt.http),
		ErrorLog:          serverLog(log, "http"),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second, // a token request's body may not trickle in
		IdleTimeout:       time.Minute,
	}
	s.check = s.newCheck()
	s.debug = s.newDebug()
	if s.admin, err = s.newAdmin(cfg); err != nil {
		stop()
		return nil, errors.Join(err, b.close())
	}
	return s, nil
}

// Start listens on the configured addresses and serves in the background.
func (s *Service) Start() error {
	var err error
	if s.grpcLn, err = net.Listen("tcp", s.cfg.GRPC.Address); err != nil {
		return fmt.Errorf("grpc listener: %w", err)
	}
	if s.httpLn, err = net.Listen("tcp", s.cfg.HTTP.Address); err != nil {
		s.closeListeners()
		return fmt.Errorf("http listener: %w", err)
	}
	for _, start := range []func() error{s.startCheck, s.startAdmin, s.startDebug} {
		if err := start(); err != nil {
			s.closeListeners()
			return err
		}
	}
	s.updateHealth()
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		if err := s.grpc.Serve(s.grpcLn); err != nil {
			s.errs <- fmt.Errorf("grpc server: %w", err)
		}
	}()
	go func() {
		defer s.wg.Done()
		if err := serveHTTP(s.http, s.httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.errs <- fmt.Errorf("http server: %w", err)
		}
	}()
	s.log.Info("tollgate serving", "grpc", s.grpcLn.Addr().String(), "grpc_transport", s.cfg.GRPC.TLS.Mode(),
		"http", s.httpLn.Addr().String(), "http_transport", s.cfg.HTTP.TLS.Mode())
	s.background(s.followHealth)
	for _, r := range s.tls.reloaders() {
		s.background(r.Run)
	}
	if s.backing.store != nil {
		s.background(s.followStore)
	}
	if s.backing.sts != nil {
		s.background(s.backing.sts.Run)
	}
	if s.cfg.Reload.Watch {
		if err := s.watch(); err != nil {
			s.log.Warn("cannot watch files for changes; reload with SIGHUP", "error", err)
		}
	}
	return nil
}

// closeListeners closes the listeners Start opened before one failed; the servers of
// those that serve already stop with them.
func (s *Service) closeListeners() {
	for _, ln := range []net.Listener{s.grpcLn, s.httpLn, s.checkLn, s.adminLn, s.debugLn} {
		if ln != nil {
			_ = ln.Close()
		}
	}
}

// background runs f until the service stops.
func (s *Service) background(f func(ctx context.Context)) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f(s.ctx)
	}()
}

// GRPCAddr is the address the gRPC server listens on.
func (s *Service) GRPCAddr() string { return s.grpcLn.Addr().String() }

// HTTPAddr is the address the HTTP server listens on.
func (s *Service) HTTPAddr() string { return s.httpLn.Addr().String() }

// Errors reports a listener that stopped serving on its own.
func (s *Service) Errors() <-chan error { return s.errs }

// Shutdown reports NOT_SERVING, stops accepting, and waits for in-flight checks until
// ctx ends; then it closes what is left.
func (s *Service) Shutdown(ctx context.Context) error {
	s.health.Shutdown()
	done := make(chan struct{})
	go func() {
		s.grpc.GracefulStop()
		close(done)
	}()
	httpErr := s.http.Shutdown(ctx)
	if s.admin != nil {
		httpErr = errors.Join(httpErr, s.admin.Shutdown(ctx))
	}
	if s.check != nil {
		httpErr = errors.Join(httpErr, s.check.Shutdown(ctx))
	}
	if s.debug != nil {
		// Nothing there to drain: a profile in progress need not hold the shutdown up.
		httpErr = errors.Join(httpErr, s.debug.Close())
	}
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		s.grpc.Stop()
		err = fmt.Errorf("shutdown: in-flight checks cut off: %w", ctx.Err())
	}
	s.stop()
	s.wg.Wait()
	s.authz.State().Verifier.Close()
	return errors.Join(err, httpErr, s.backing.close())
}

func (s *Service) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeStatus(w, http.StatusOK, "ok")
	})
	mux.HandleFunc("GET /readyz", s.serveReady)
	if s.backing.sts != nil {
		h := s.backing.sts.Handler()
		mux.Handle("/oauth2/", h)
		mux.Handle("/.well-known/", h)
	}
	return mux
}

func writeStatus(w http.ResponseWriter, code int, status string) {
	writeJSON(w, code, map[string]string{"status": status})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
