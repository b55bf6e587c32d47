package sts

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testMasterKey encodes differently in the standard and URL base64 alphabets.
var testMasterKey = bytes.Repeat([]byte{0xfb, 0xff, 0xbf, 0x3e}, 8)

func testSealer(t testing.TB, master []byte) *Sealer {
	t.Helper()
	s, err := newSealer(master)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// unsetStoreKeyEnv clears TOLLGATE_STORE_KEY for the test and restores it after.
func unsetStoreKeyEnv(t *testing.T) {
	t.Helper()
	t.Setenv(StoreKeyEnv, "")
	os.Unsetenv(StoreKeyEnv)
}

func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

// sameKeys fails unless a and b were derived from the same master key.
func sameKeys(t *testing.T, a, b *Sealer) {
	t.Helper()
	sealed, err := a.Seal([]byte("probe"), []byte("aad"))
	if err != nil {
		t.Fatal(err)
	}
	if plain, err := b.Open(sealed, []byte("aad")); err != nil || string(plain) != "probe" {
		t.Fatalf("a value sealed by one sealer does not open with the other: %q, %v", plain, err)
	}
	if !bytes.Equal(a.HashSecret("s"), b.HashSecret("s")) {
		t.Fatal("the sealers hash secrets differently")
	}
}

func TestLoadSealerFromEnv(t *testing.T) {
	std := base64.StdEncoding.EncodeToString(testMasterKey)
	if !strings.ContainsAny(std, "+/") {
		t.Fatal("the test key must differ between the base64 alphabets")
	}
	tests := []struct {
		name, value string
		ok          bool
	}{
		{"hex", hex.EncodeToString(testMasterKey), true},
		{"hex upper case", strings.ToUpper(hex.EncodeToString(testMasterKey)), true},
		{"base64 std padded", std, true},
		{"base64 std unpadded", base64.RawStdEncoding.EncodeToString(testMasterKey), true},
		{"base64 url padded", base64.URLEncoding.EncodeToString(testMasterKey), true},
		{"base64 url unpadded", base64.RawURLEncoding.EncodeToString(testMasterKey), true},
		{"surrounding whitespace", " " + std + "\n", true},
		{"empty", "", false},
		{"hex of 16 bytes", hex.EncodeToString(testMasterKey[:16]), false},
		{"hex of 33 bytes", hex.EncodeToString(append(testMasterKey, 1)), false},
		{"base64 of 31 bytes", base64.StdEncoding.EncodeToString(testMasterKey[:31]), false},
		{"base64 of 48 bytes", base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 48)), false},
		{"64 non-hex characters", strings.Repeat("zz", 32), false},
		{"garbage", "correct horse battery staple!", false},
		{"mixed alphabets", strings.Replace(base64.RawURLEncoding.EncodeToString(testMasterKey), "_", "/", 1), false},
	}
	want := testSealer(t, testMasterKey)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(StoreKeyEnv, tt.value)
			// The key file must not be consulted, let alone created, when the env is set.
			keyFile := filepath.Join(t.TempDir(), "key")
			s, err := LoadSealer(keyFile, discardLog())
			if _, statErr := os.Stat(keyFile); statErr == nil {
				t.Error("LoadSealer created the key file although the env holds the key")
			}
			if !tt.ok {
				checkKeyError(t, err, tt.value, StoreKeyEnv)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			sameKeys(t, s, want)
		})
	}
}

// checkKeyError fails unless err is a key error that names where the key came from
// and does not echo the key.
func checkKeyError(t *testing.T, err error, value, source string) {
	t.Helper()
	if err == nil {
		t.Fatal("want an error")
	}
	msg := err.Error()
	if v := strings.TrimSpace(value); v != "" && strings.Contains(msg, v) {
		t.Errorf("the error echoes the key: %s", msg)
	}
	if !strings.Contains(msg, source) || !strings.Contains(msg, "64 hex digits or in base64") {
		t.Errorf("the error should name %s and say what is expected: %s", source, msg)
	}
}

func TestLoadSealerCreatesKeyFile(t *testing.T) {
	unsetStoreKeyEnv(t)
	dir := filepath.Join(t.TempDir(), "state")
	keyFile := filepath.Join(dir, "store.key")
	var logged bytes.Buffer
	first, err := LoadSealer(keyFile, slog.New(slog.NewTextHandler(&logged, nil)))
	if err != nil {
		t.Fatal(err)
	}
	checkMode(t, keyFile, 0o600)
	checkMode(t, dir, 0o700|os.ModeDir)
	content, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSuffix(string(content), "\n"))
	if err != nil || len(key) != 32 || !strings.HasSuffix(string(content), "\n") {
		t.Fatalf("the key file should hold base64 of 32 bytes and a newline, got %d bytes (%v)", len(key), err)
	}
	if !strings.Contains(logged.String(), "level=INFO") || !strings.Contains(logged.String(), keyFile) {
		t.Errorf("the creation should be logged at info with the path: %s", logged.String())
	}
	if strings.Contains(logged.String(), strings.TrimSpace(string(content))) {
		t.Error("the log holds the key")
	}
	second, err := LoadSealer(keyFile, discardLog())
	if err != nil {
		t.Fatal(err)
	}
	sameKeys(t, first, second)
	sameKeys(t, first, testSealer(t, key))
}

func checkMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Mode(); got != want {
		t.Errorf("%s has mode %v, want %v", path, got, want)
	}
}

func TestLoadSealerEnvTakesPrecedence(t *testing.T) {
	unsetStoreKeyEnv(t)
	keyFile := filepath.Join(t.TempDir(), "key")
	if _, err := LoadSealer(keyFile, discardLog()); err != nil {
		t.Fatal(err)
	}
	t.Setenv(StoreKeyEnv, hex.EncodeToString(testMasterKey))
	s, err := LoadSealer(keyFile, discardLog())
	if err != nil {
		t.Fatal(err)
	}
	sameKeys(t, s, testSealer(t, testMasterKey))
}

func TestLoadSealerRefusesKeyFile(t *testing.T) {
	unsetStoreKeyEnv(t)
	good := base64.StdEncoding.EncodeToString(testMasterKey) + "\n"
	tests := []struct {
		name, content string
		mode          os.FileMode
		want          string
	}{
		{"group readable", good, 0o640, "chmod 600 "},
		{"other readable", good, 0o604, "chmod 600 "},
		{"world readable", good, 0o644, "chmod 600 "},
		{"group writable", good, 0o620, "chmod 600 "},
		{"empty", "", 0o600, "64 hex digits or in base64"},
		{"short key", base64.StdEncoding.EncodeToString(testMasterKey[:16]), 0o600, "64 hex digits or in base64"},
		{"garbage", "this is no key at all, is it?", 0o600, "64 hex digits or in base64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keyFile := filepath.Join(t.TempDir(), "key")
			if err := os.WriteFile(keyFile, []byte(tt.content), tt.mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(keyFile, tt.mode); err != nil { // past the umask
				t.Fatal(err)
			}
			_, err := LoadSealer(keyFile, discardLog())
			if err == nil {
				t.Fatal("want an error")
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), keyFile) {
				t.Errorf("error %q should name %s and say %q", err, keyFile, tt.want)
			}
			if c := strings.TrimSpace(tt.content); c != "" && strings.Contains(err.Error(), c) {
				t.Errorf("the error echoes the key file: %s", err)
			}
		})
	}
}

func TestLoadSealerRefusesNoKeyFile(t *testing.T) {
	unsetStoreKeyEnv(t)
	for name, keyFile := range map[string]string{"no name": "", "a directory": t.TempDir()} {
		if _, err := LoadSealer(keyFile, discardLog()); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
}

func TestSealOpen(t *testing.T) {
	s := testSealer(t, testMasterKey)
	for _, plain := range [][]byte{nil, []byte("x"), bytes.Repeat([]byte("key material "), 100)} {
		sealed, err := s.Seal(plain, []byte("aad"))
		if err != nil {
			t.Fatal(err)
		}
		if len(plain) >= 16 && bytes.Contains(sealed, plain[:16]) { // a shorter piece may occur by chance
			t.Error("the sealed value holds the plaintext")
		}
		got, err := s.Open(sealed, []byte("aad"))
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("Open = %q, %v; want %q", got, err, plain)
		}
	}
	a, _ := s.Seal([]byte("same"), nil)
	b, _ := s.Seal([]byte("same"), nil)
	if bytes.Equal(a, b) {
		t.Error("two seals of the same value are equal: the nonce is not fresh")
	}
}

func TestOpenRefuses(t *testing.T) {
	s := testSealer(t, testMasterKey)
	aad := []byte("tollgate signing key k1")
	sealed, err := s.Seal([]byte("private key"), aad)
	if err != nil {
		t.Fatal(err)
	}
	other := testSealer(t, bytes.Repeat([]byte{1}, 32))
	type openCase struct {
		name   string
		sealer *Sealer
		sealed []byte
		aad    []byte
		want   string // in the error
	}
	tests := []openCase{
		{"wrong aad", s, sealed, []byte("tollgate signing key k2"), "store key may be wrong"},
		{"no aad", s, sealed, nil, "store key may be wrong"},
		{"other master key", other, sealed, aad, "store key may be wrong"},
		{"nil", s, nil, aad, "too short"},
		{"version only", s, sealed[:1], aad, "too short"},
		{"no tag", s, sealed[:1+12+15], aad, "too short"},
		{"truncated", s, sealed[:len(sealed)-1], aad, "store key may be wrong"},
		{"unknown version", s, append([]byte{2}, sealed[1:]...), aad, "unknown format version 2"},
	}
	for i := range sealed {
		tampered := bytes.Clone(sealed)
		tampered[i] ^= 0x01
		tests = append(tests, openCase{fmt.Sprintf("byte %d tampered", i), s, tampered, aad, ""})
	}
	for _, tt := range tests {
		got, err := tt.sealer.Open(tt.sealed, tt.aad)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Open = %q, %v; want an error saying %q", tt.name, got, err, tt.want)
		}
	}
}

func FuzzOpen(f *testing.F) {
	s := testSealer(f, testMasterKey)
	sealed, err := s.Seal([]byte("plain"), []byte("aad"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sealed, []byte("aad"))
	f.Add([]byte{}, []byte{})
	f.Add([]byte{sealVersion}, []byte("aad"))
	f.Add(sealed[:20], []byte("aad"))
	f.Fuzz(func(t *testing.T, sealed, aad []byte) {
		plain, err := s.Open(sealed, aad)
		if err == nil && string(plain) != "plain" {
			t.Fatalf("Open accepted a forgery: %q", plain)
		}
	})
}

func TestHashSecret(t *testing.T) {
	s := testSealer(t, testMasterKey)
	other := testSealer(t, bytes.Repeat([]byte{1}, 32))
	h := s.HashSecret("tgs_secret")
	if len(h) != 32 {
		t.Fatalf("hash has %d bytes, want 32", len(h))
	}
	if !bytes.Equal(h, s.HashSecret("tgs_secret")) {
		t.Error("HashSecret is not deterministic")
	}
	if bytes.Equal(h, other.HashSecret("tgs_secret")) {
		t.Error("two master keys hash a secret alike")
	}
	if bytes.Equal(h, s.HashSecret("tgs_secreT")) {
		t.Error("two secrets hash alike")
	}
	tests := []struct {
		name   string
		secret string
		hash   []byte
		want   bool
	}{
		{"match", "tgs_secret", h, true},
		{"other secret", "tgs_secreT", h, false},
		{"empty secret", "", h, false},
		{"truncated hash", "tgs_secret", h[:31], false},
		{"nil hash", "tgs_secret", nil, false},
		{"other master key's hash", "tgs_secret", other.HashSecret("tgs_secret"), false},
	}
	for _, tt := range tests {
		if got := s.SecretMatches(tt.secret, tt.hash); got != tt.want {
			t.Errorf("%s: SecretMatches = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func BenchmarkHashSecret(b *testing.B) {
	s := testSealer(b, testMasterKey)
	secret := NewSecret()
	b.ReportAllocs()
	for b.Loop() {
		s.HashSecret(secret)
	}
}
