package sts

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// StoreKeyEnv is the environment variable that, when set, holds the master key and
// takes precedence over the key file, for deployments that inject secrets that way.
const StoreKeyEnv = "TOLLGATE_STORE_KEY"

const (
	masterKeySize = 32
	// The HKDF info strings keep the subkeys independent: knowing one says nothing
	// about the other, and a future use gets its own string.
	sealInfo = "tollgate store seal v1"
	hmacInfo = "tollgate client secret hmac v1"
	// sealVersion is the first byte of every sealed value, so the format can change
	// without guessing what an old value is.
	sealVersion = 1
	// maxKeyFileSize bounds what LoadSealer reads: a key file is under 100 bytes.
	maxKeyFileSize = 1024
)

// errKeyFormat says what a master key must look like; it never includes the value.
var errKeyFormat = errors.New("the store key must be 32 bytes, written as 64 hex digits or in base64 (standard or URL alphabet, padding optional)")

// Sealer encrypts and authenticates values at rest (the signing keys' private keys)
// and hashes client secrets, with subkeys derived from one master key. Without the
// master key, the store's sealed values and secret hashes are useless to a thief.
// A Sealer is safe for concurrent use.
type Sealer struct {
	aead    cipher.AEAD
	hmacKey []byte
}

// LoadSealer returns the Sealer of the master key in TOLLGATE_STORE_KEY or, when that
// is not set, in keyFile. A missing key file is created with a new random key (mode
// 0600), and its creation logged, so a first start needs no setup; a key file that
// group or others may access is refused.
func LoadSealer(keyFile string, log *slog.Logger) (*Sealer, error) {
	key, err := loadMasterKey(keyFile, log)
	if err != nil {
		return nil, err
	}
	return newSealer(key)
}

func loadMasterKey(keyFile string, log *slog.Logger) ([]byte, error) {
	if v, ok := os.LookupEnv(StoreKeyEnv); ok {
		key, err := decodeMasterKey(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", StoreKeyEnv, err)
		}
		return key, nil
	}
	if keyFile == "" {
		return nil, fmt.Errorf("no store key: set %s or name a key file", StoreKeyEnv)
	}
	key, err := readKeyFile(keyFile)
	if errors.Is(err, fs.ErrNotExist) {
		return createKeyFile(keyFile, log)
	}
	return key, err
}

// decodeMasterKey accepts the key as hex or base64 of 32 bytes, surrounding
// whitespace ignored. Its errors never include s.
func decodeMasterKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if len(s) == 2*masterKeySize {
		if key, err := hex.DecodeString(s); err == nil {
			return key, nil
		}
	}
	encodings := []*base64.Encoding{
		base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding,
	}
	for _, enc := range encodings {
		if key, err := enc.DecodeString(s); err == nil && len(key) == masterKeySize {
			return key, nil
		}
	}
	return nil, errKeyFormat
}

// readKeyFile reads the master key from path, refusing a file others may read: the
// key unseals every signing key.
func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("store key file: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("store key file: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("store key file %s is not a regular file", path)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("store key file %s is accessible by group or others (mode %04o): chmod 600 %s", path, perm, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFileSize))
	if err != nil {
		return nil, fmt.Errorf("store key file %s: %w", path, err)
	}
	key, err := decodeMasterKey(string(data))
	if err != nil {
		return nil, fmt.Errorf("store key file %s: %w", path, err)
	}
	return key, nil
}

// createKeyFile writes a new random master key to path, which must not exist. If
// another process creates it first, that one's key is used.
func createKeyFile(path string, log *slog.Logger) ([]byte, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create store key file: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return readKeyFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("create store key file: %w", err)
	}
	key := make([]byte, masterKeySize)
	rand.Read(key)
	if err := writeKey(f, key); err != nil {
		os.Remove(path) // a partial key file would stop every later start
		return nil, fmt.Errorf("create store key file %s: %w", path, err)
	}
	log.Info("created a new store key file; back it up: without it the sealed signing keys and client secrets are lost", "path", path)
	return key, nil
}

func writeKey(f *os.File, key []byte) error {
	_, err := f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// newSealer derives the sealing and HMAC subkeys from the master key with HKDF.
func newSealer(master []byte) (*Sealer, error) {
	sealKey, err := hkdf.Key(sha256.New, master, nil, sealInfo, 32)
	if err != nil {
		return nil, fmt.Errorf("derive sealing key: %w", err)
	}
	hmacKey, err := hkdf.Key(sha256.New, master, nil, hmacInfo, 32)
	if err != nil {
		return nil, fmt.Errorf("derive secret hashing key: %w", err)
	}
	block, err := aes.NewCipher(sealKey)
	if err != nil {
		return nil, fmt.Errorf("sealing cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("sealing cipher: %w", err)
	}
	return &Sealer{aead: aead, hmacKey: hmacKey}, nil
}

// Seal encrypts and authenticates plain with AES-256-GCM under a fresh random nonce.
// aad is authenticated but not stored: Open must be given the same aad, which binds
// the sealed value to its context (a signing key's kid) so it cannot be moved to another.
// The result is a version byte, the nonce and the ciphertext.
func (s *Sealer) Seal(plain, aad []byte) ([]byte, error) {
	size := 1 + s.aead.NonceSize() + len(plain) + s.aead.Overhead()
	out := make([]byte, 1+s.aead.NonceSize(), size)
	out[0] = sealVersion
	rand.Read(out[1:])
	return s.aead.Seal(out, out[1:], plain, aad), nil
}

// Open returns the plaintext of a value Seal returned for the same aad. It fails,
// never panics, on anything else: a short, altered or foreign value, another aad, or
// another master key.
func (s *Sealer) Open(sealed, aad []byte) ([]byte, error) {
	header := 1 + s.aead.NonceSize()
	if len(sealed) < header+s.aead.Overhead() {
		return nil, errors.New("open sealed value: too short to be one; the stored value is damaged")
	}
	if sealed[0] != sealVersion {
		return nil, fmt.Errorf("open sealed value: unknown format version %d (damaged, or written by a newer Tollgate)", sealed[0])
	}
	plain, err := s.aead.Open(nil, sealed[1:header], sealed[header:], aad)
	if err != nil {
		return nil, errors.New("open sealed value: authentication failed; the store key may be wrong, or the value was altered")
	}
	return plain, nil
}

// HashSecret returns the HMAC-SHA-256 of a client secret under the server's key: what
// the store keeps instead of the secret. A secret has 256 random bits, so a fast hash
// is enough, and the key makes a stolen hash useless without the master key.
func (s *Sealer) HashSecret(secret string) []byte {
	m := hmac.New(sha256.New, s.hmacKey)
	m.Write([]byte(secret))
	return m.Sum(nil)
}

// SecretMatches reports whether secret hashes to hash, in constant time so a caller
// cannot learn the hash byte by byte from response times.
func (s *Sealer) SecretMatches(secret string, hash []byte) bool {
	return hmac.Equal(s.HashSecret(secret), hash)
}
