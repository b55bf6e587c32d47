package policy

import (
	"fmt"
	"sync"
	"testing"
)

func TestMemoGetPut(t *testing.T) {
	m := newMemo()
	if _, ok := m.Get([]byte("a")); ok {
		t.Fatal("an empty memo remembers a decision")
	}
	m.Put([]byte("a"), Decision{Allowed: true, Reason: "allowed"})
	m.Put([]byte("b"), Decision{Reason: "insufficient_scope"})
	if d, ok := m.Get([]byte("a")); !ok || !d.Allowed {
		t.Errorf("Get(a) = %+v, %v", d, ok)
	}
	if d, ok := m.Get([]byte("b")); !ok || d.Allowed || d.Reason != "insufficient_scope" {
		t.Errorf("Get(b) = %+v, %v", d, ok)
	}
	if _, ok := m.Get([]byte("a\x00")); ok {
		t.Error("a key with a byte more shares a decision")
	}
}

// However many keys come, the memo stays bounded, and keeps most of what fits.
func TestMemoBounded(t *testing.T) {
	m := newMemo()
	const max = memoShards * memoPerShard
	for i := range 4 * max {
		m.Put(fmt.Appendf(nil, "key-%d", i), Decision{Allowed: true})
	}
	if n := m.Len(); n > max || n < max/2 {
		t.Errorf("%d decisions remembered after %d puts; want at most %d, and most of them", n, 4*max, max)
	}
}

// Checks read and fill the memo at once (run with -race).
func TestMemoConcurrent(t *testing.T) {
	m := newMemo()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				key := fmt.Appendf(nil, "%d", i%300)
				if d, ok := m.Get(key); ok && d.Reason != string(key) {
					t.Errorf("Get(%s) = %q", key, d.Reason)
					return
				}
				if i%(g+1) == 0 {
					m.Put(key, Decision{Reason: string(key)})
				}
			}
		})
	}
	wg.Wait()
}

// BenchmarkMemo measures a memo lookup that hits, one that misses, and a store.
func BenchmarkMemo(b *testing.B) {
	m := newMemo()
	key := []byte("\x01\x06orders\x10GET /orders/{id}\x01\x04demo\x0dshop-web-prod\x0dshop-web-prod\x01\x14urn:acme:orders:read\x00")
	m.Put(key, Decision{Allowed: true})
	miss := append([]byte{}, key...)
	miss[len(miss)-1] = 1
	b.Run("hit", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := m.Get(key); !ok {
				b.Fatal("miss")
			}
		}
	})
	b.Run("miss", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := m.Get(miss); ok {
				b.Fatal("hit")
			}
		}
	})
	b.Run("put", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			m.Put(key, Decision{Allowed: true})
		}
	})
}
