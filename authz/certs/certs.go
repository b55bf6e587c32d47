// Package certs serves a TLS listener's certificate, key and client CAs from PEM files,
// and reads them again when they change, so a renewed certificate (a rotated Kubernetes
// Secret, say) is served without a restart. Files that cannot serve (unreadable,
// half-written, a key that does not match the certificate) are logged and the last good
// ones keep serving.
package certs

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
)

// Options are one listener's files and what it offers clients.
type Options struct {
	// CertFile is the PEM certificate chain presented to clients, leaf first.
	CertFile string
	// KeyFile is the PEM private key of the leaf; it may be CertFile itself.
	KeyFile string
	// ClientCAFile, when set, is a PEM bundle of CAs: every client must present a
	// certificate that chains to one of them (mTLS).
	ClientCAFile string
	// MinVersion is the lowest TLS version accepted; 0 means TLS 1.2.
	MinVersion uint16
	// NextProtos are the ALPN protocols offered, such as "h2" and "http/1.1".
	NextProtos []string
}

// File names one of a listener's files in a FileError.
type File string

// The files of a listener.
const (
	Cert     File = "certificate"
	Key      File = "key"
	ClientCA File = "client CA"
)

// FileError is a file that cannot serve, and why. It never holds key material.
type FileError struct {
	File File
	Err  error
}

func (e *FileError) Error() string { return fmt.Sprintf("%s: %v", e.File, e.Err) }

func (e *FileError) Unwrap() error { return e.Err }

// Check reads and parses the files of o as New does, and returns every problem found;
// none when they can serve.
func Check(o Options) []*FileError {
	raw, errs := read(o)
	_, errs = parse(o, raw, errs)
	return errs
}

// contents are the bytes of a listener's files.
type contents struct{ cert, key, clientCA []byte }

// digest identifies the contents, so an unchanged set is neither parsed nor logged again.
func (c contents) digest() [sha256.Size]byte {
	h := sha256.New()
	for _, b := range [][]byte{c.cert, c.key, c.clientCA} {
		_ = binary.Write(h, binary.BigEndian, uint64(len(b)))
		h.Write(b)
	}
	var d [sha256.Size]byte
	h.Sum(d[:0])
	return d
}

// read reads every file of o, also past one that cannot be read, so all are reported.
func read(o Options) (contents, []*FileError) {
	var c contents
	var errs []*FileError
	for _, f := range []struct {
		file File
		path string
		into *[]byte
	}{{Cert, o.CertFile, &c.cert}, {Key, o.KeyFile, &c.key}, {ClientCA, o.ClientCAFile, &c.clientCA}} {
		if f.path == "" {
			continue
		}
		raw, err := os.ReadFile(f.path)
		if err != nil {
			errs = append(errs, &FileError{f.file, err})
		}
		*f.into = raw
	}
	return c, errs
}

// loaded is one good set of files, ready to serve.
type loaded struct {
	config *tls.Config
	leaf   *x509.Certificate
	digest [sha256.Size]byte
}

// parse builds the tls.Config that serves raw; or, to errs (the files that could not be
// read), it adds the problems of those that could.
func parse(o Options, raw contents, errs []*FileError) (*loaded, []*FileError) {
	unread := map[File]bool{}
	for _, e := range errs {
		unread[e.File] = true
	}
	var pool *x509.CertPool
	if o.ClientCAFile != "" && !unread[ClientCA] {
		var err *FileError
		if pool, err = parsePool(o.ClientCAFile, raw.clientCA); err != nil {
			errs = append(errs, err)
		}
	}
	var pair tls.Certificate
	if !unread[Cert] {
		var err *FileError
		if pair, err = parsePair(o, raw, unread[Key]); err != nil {
			errs = append(errs, err)
		}
	}
	if errs != nil {
		return nil, errs
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: minVersion(o), NextProtos: o.NextProtos}
	if pool != nil {
		cfg.ClientCAs, cfg.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return &loaded{config: cfg, leaf: pair.Leaf, digest: raw.digest()}, nil
}

// parsePool is the pool of the client CA file's certificates.
func parsePool(path string, raw []byte) (*x509.CertPool, *FileError) {
	cas, err := parseCertificates(raw)
	if err != nil {
		return nil, &FileError{ClientCA, fmt.Errorf("%s: %w", path, err)}
	}
	pool := x509.NewCertPool()
	for _, ca := range cas {
		pool.AddCert(ca)
	}
	return pool, nil
}

// parsePair parses the certificate chain, then matches the key to it (unless the key
// could not be read), so the error names the file at fault.
func parsePair(o Options, raw contents, keyUnread bool) (tls.Certificate, *FileError) {
	chain, err := parseCertificates(raw.cert)
	if err != nil {
		return tls.Certificate{}, &FileError{Cert, fmt.Errorf("%s: %w", o.CertFile, err)}
	}
	if keyUnread {
		return tls.Certificate{}, nil
	}
	pair, err := tls.X509KeyPair(raw.cert, raw.key)
	if err != nil {
		return tls.Certificate{}, &FileError{Key, fmt.Errorf("%s: %w", o.KeyFile, err)}
	}
	pair.Leaf = chain[0] // set whatever GODEBUG says, for the log
	return pair, nil
}

// parseCertificates returns every CERTIFICATE block of a PEM file, skipping blocks of
// other types (a key beside the chain); it refuses a file with none, and one with a
// block cut short, as a file caught halfway through being written is.
func parseCertificates(raw []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for {
		block, rest := pem.Decode(raw)
		if block == nil {
			if bytes.Contains(rest, []byte("-----BEGIN")) {
				return nil, errors.New("a PEM block is malformed or cut short (a half-written file?)")
			}
			break
		}
		raw = rest
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", len(certs)+1, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("no PEM CERTIFICATE block")
	}
	return certs, nil
}

func minVersion(o Options) uint16 {
	if o.MinVersion == 0 {
		return tls.VersionTLS12
	}
	return o.MinVersion
}
