package certs

import (
	"context"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"
)

// PollInterval is how often a Reloader reads its files for a change. Reading beats
// watching here: a Kubernetes Secret volume changes by a symlink swap, a renewal
// may keep a file's size and time, and three small files a second cost nothing.
const PollInterval = time.Second

// Reloader serves a listener's files and follows their changes. A handshake only
// loads an atomic pointer to the files read last.
type Reloader struct {
	opts    Options
	log     *slog.Logger
	current atomic.Pointer[loaded]
	refused string // what was last refused, logged once; only Run's goroutine uses it
}

// New reads and parses the files of o; it fails when they cannot serve.
func New(o Options, log *slog.Logger) (*Reloader, error) {
	raw, errs := read(o)
	l, errs := parse(o, raw, errs)
	if errs != nil {
		return nil, join(errs)
	}
	r := &Reloader{opts: o, log: log}
	r.current.Store(l)
	return r, nil
}

// TLSConfig is the listener's configuration: each handshake gets the certificate, key
// and client CAs read last.
func (r *Reloader) TLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion: minVersion(r.opts),
		NextProtos: r.opts.NextProtos,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			return r.current.Load().config, nil
		},
	}
}

// Run reads the files every PollInterval until ctx ends, and serves them from the
// next handshake on when they changed and can serve.
func (r *Reloader) Run(ctx context.Context) {
	t := time.NewTicker(PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.refresh()
		}
	}
}

// refresh reads the files once and serves them if they changed and can serve. A set
// that cannot serve is logged once, with the reason, until the files change again.
func (r *Reloader) refresh() {
	raw, errs := read(r.opts)
	if errs != nil {
		r.refuse(join(errs).Error(), errs)
		return
	}
	digest := raw.digest()
	if digest == r.current.Load().digest {
		r.refused = ""
		return
	}
	id := hex.EncodeToString(digest[:])
	if id == r.refused {
		return
	}
	l, errs := parse(r.opts, raw, nil)
	if errs != nil {
		r.refuse(id, errs)
		return
	}
	r.current.Store(l)
	r.refused = ""
	r.log.Info("TLS files changed; new handshakes use them", "cert_file", r.opts.CertFile,
		"subject", l.leaf.Subject.String(), "serial", l.leaf.SerialNumber.Text(16),
		"not_after", l.leaf.NotAfter, "client_ca_file", r.opts.ClientCAFile)
}

func (r *Reloader) refuse(id string, errs []*FileError) {
	if id == r.refused {
		return
	}
	r.refused = id
	r.log.Error("TLS files refused; the last good certificate keeps serving",
		"cert_file", r.opts.CertFile, "error", join(errs))
}

func join(errs []*FileError) error {
	all := make([]error, len(errs))
	for i, e := range errs {
		all[i] = e
	}
	return errors.Join(all...)
}
