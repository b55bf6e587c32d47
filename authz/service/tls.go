package service

import (
	"crypto/tls"
	"fmt"
	stdlog "log"
	"log/slog"
	"net"
	"net/http"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/tollgate/tollgate/authz/certs"
	"github.com/tollgate/tollgate/authz/config"
)

// ALPN protocols: gRPC needs HTTP/2; the HTTP listeners offer it and HTTP/1.1.
var (
	grpcProtos = []string{"h2"}
	httpProtos = []string{"h2", "http/1.1"}
)

// listenerTLS holds the certificates of the listeners that serve TLS; nil for one
// that serves plaintext.
type listenerTLS struct {
	grpc, http, check, admin *certs.Reloader
}

// newListenerTLS reads the TLS files of every listener that runs and has TLS on.
func newListenerTLS(cfg *config.Config, log *slog.Logger) (listenerTLS, error) {
	var l listenerTLS
	var err error
	if l.grpc, err = newReloader("grpc", cfg.GRPC.TLS, grpcProtos, log); err != nil {
		return l, err
	}
	if l.http, err = newReloader("http", cfg.HTTP.TLS, httpProtos, log); err != nil {
		return l, err
	}
	if cfg.Check.On() {
		if l.check, err = newReloader("check", cfg.Check.TLS, httpProtos, log); err != nil {
			return l, err
		}
	}
	if cfg.Store != nil {
		l.admin, err = newReloader("admin", cfg.Admin.TLS, httpProtos, log)
	}
	return l, err
}

func newReloader(key string, t config.TLS, protos []string, log *slog.Logger) (*certs.Reloader, error) {
	if !t.On() {
		return nil, nil
	}
	o := t.Options()
	o.NextProtos = protos
	r, err := certs.New(o, log.With("listener", key))
	if err != nil {
		return nil, fmt.Errorf("%s.tls: %w", key, err)
	}
	return r, nil
}

// grpcOptions are the gRPC server's transport credentials: TLS, or none.
func (l listenerTLS) grpcOptions() []grpc.ServerOption {
	if l.grpc == nil {
		return nil
	}
	return []grpc.ServerOption{grpc.Creds(credentials.NewTLS(l.grpc.TLSConfig()))}
}

// reloaders are the certificates to follow while the service runs.
func (l listenerTLS) reloaders() []*certs.Reloader {
	var all []*certs.Reloader
	for _, r := range []*certs.Reloader{l.grpc, l.http, l.check, l.admin} {
		if r != nil {
			all = append(all, r)
		}
	}
	return all
}

// tlsConfig is an HTTP server's TLS configuration; nil serves plaintext.
func tlsConfig(r *certs.Reloader) *tls.Config {
	if r == nil {
		return nil
	}
	return r.TLSConfig()
}

// serverLog sends an HTTP server's own errors, such as a failed TLS handshake, to the
// service's log as warnings, instead of the standard logger's unstructured lines.
func serverLog(log *slog.Logger, listener string) *stdlog.Logger {
	return slog.NewLogLogger(log.With("listener", listener).Handler(), slog.LevelWarn)
}

// serveHTTP serves srv on ln, over TLS when srv has a TLS configuration.
func serveHTTP(srv *http.Server, ln net.Listener) error {
	if srv.TLSConfig != nil {
		return srv.ServeTLS(ln, "", "")
	}
	return srv.Serve(ln)
}
