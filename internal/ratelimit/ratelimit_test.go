package ratelimit

import (
	"testing"
	"time"
)

func TestPerKey(t *testing.T) {
	l := New(1, 3, time.Minute)
	now := time.Unix(1000, 0)
	for i := range 3 {
		if ok, _ := l.Allow("a", now); !ok {
			t.Fatalf("request %d refused inside the burst", i)
		}
	}
	ok, wait := l.Allow("a", now)
	if ok || wait <= 0 || wait > time.Second {
		t.Fatalf("4th request: ok=%v wait=%v", ok, wait)
	}
	if ok, _ := l.Allow("b", now); !ok {
		t.Fatal("another key shares the bucket")
	}
	if ok, _ := l.Allow("a", now.Add(time.Second)); !ok {
		t.Fatal("no refill after a second")
	}
	// Idle keys are forgotten.
	l.Allow("c", now.Add(3*time.Minute))
	if _, ok := l.clients["a"]; ok {
		t.Fatal("idle key kept")
	}
}
