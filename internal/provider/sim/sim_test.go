package sim

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/provider"
)

func server(id string) provider.Member {
	return provider.Member{ID: id, FileName: id + ".session", Data: []byte("data-" + id)}
}

func TestPutRemoveListIdempotent(t *testing.T) {
	ctx := context.Background()
	r := NewRegistry()
	s := r.New("worker-01", Config{})

	m := server("639277333688")
	for range 2 {
		if err := s.Put(ctx, m); err != nil {
			t.Fatalf("Put: %v", err)
		}
	}
	got, err := s.List(ctx)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if want := []string{"639277333688.session"}; !slices.Equal(got, want) {
		t.Fatalf("List = %v, want %v", got, want)
	}
	data, ok := s.File("639277333688.session")
	if !ok || string(data) != "data-639277333688" {
		t.Fatalf("File = %q, %v", data, ok)
	}
	for range 2 {
		if err := s.Remove(ctx, m); err != nil {
			t.Fatalf("Remove: %v", err)
		}
	}
	if s.Len() != 0 {
		t.Fatalf("Len = %d after remove, want 0", s.Len())
	}
	if puts, removes := s.Calls(); puts != 2 || removes != 2 {
		t.Fatalf("Calls = %d, %d, want 2, 2", puts, removes)
	}
}

func TestIDMembers(t *testing.T) {
	ctx := context.Background()
	s := NewRegistry().New("idp", Config{})
	if err := s.Put(ctx, provider.Member{ID: "b@example.com"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, provider.Member{ID: "a@example.com"}); err != nil {
		t.Fatal(err)
	}
	got, _ := s.List(ctx)
	if want := []string{"a@example.com", "b@example.com"}; !slices.Equal(got, want) {
		t.Fatalf("List = %v, want %v", got, want)
	}
	if !s.Has("a@example.com") {
		t.Fatal("Has(a) = false")
	}
	if _, ok := s.File("a@example.com"); ok {
		t.Fatal("File of an id member should be absent")
	}
}

func TestSharedByName(t *testing.T) {
	ctx := context.Background()
	r := NewRegistry()
	if r.Get("worker-01") != nil {
		t.Fatal("Get before New should be nil")
	}
	a := r.New("worker-01", Config{})
	b := r.New("worker-01", Config{})
	other := r.New("worker-02", Config{})
	if err := a.Put(ctx, server("1")); err != nil {
		t.Fatal(err)
	}
	if !b.Has("1.session") || !r.Get("worker-01").Has("1.session") {
		t.Fatal("second handle does not see the member")
	}
	if other.Len() != 0 {
		t.Fatal("other pool sees the member")
	}
	r.Reset()
	if r.Get("worker-01") != nil {
		t.Fatal("Get after Reset should be nil")
	}
}

func TestDefaultRegistry(t *testing.T) {
	t.Cleanup(Reset)
	New("default-test", Config{})
	if err := New("default-test", Config{}).Put(context.Background(), server("7")); err != nil {
		t.Fatal(err)
	}
	if g := Get("default-test"); g == nil || !g.Has("7.session") {
		t.Fatal("Default registry does not share the pool")
	}
}

func TestDown(t *testing.T) {
	ctx := context.Background()
	r := NewRegistry()
	s := r.New("w", Config{})
	s.SetDown(true)
	// A later New with the stored configuration keeps the override.
	s2 := r.New("w", Config{})
	for name, err := range map[string]error{
		"check":  s2.Check(ctx),
		"put":    s2.Put(ctx, server("1")),
		"remove": s2.Remove(ctx, server("1")),
	} {
		if err == nil || provider.Classify(err) != provider.Retryable || !errors.Is(err, ErrInjected) {
			t.Fatalf("%s while down: %v, want retryable injected error", name, err)
		}
	}
	if _, err := s2.List(ctx); err == nil {
		t.Fatal("List while down succeeded")
	}
	s.SetDown(false)
	if err := s2.Check(ctx); err != nil {
		t.Fatalf("Check after SetDown(false): %v", err)
	}

	d := r.New("cfg-down", Config{Down: true})
	if err := d.Check(ctx); err == nil {
		t.Fatal("Check with Config.Down succeeded")
	}
	d.SetDown(false)
	if err := d.Check(ctx); err != nil {
		t.Fatalf("SetDown(false) does not override Config.Down: %v", err)
	}
}

func TestFailNext(t *testing.T) {
	ctx := context.Background()
	s := NewRegistry().New("w", Config{})
	s.SetFailNext(2, provider.MemberPermanent)
	for i := range 2 {
		err := s.Put(ctx, server("1"))
		if provider.Classify(err) != provider.MemberPermanent || !errors.Is(err, ErrInjected) {
			t.Fatalf("put %d: %v, want forced member-permanent", i, err)
		}
	}
	if err := s.Put(ctx, server("1")); err != nil {
		t.Fatalf("third put: %v", err)
	}
	s.SetFailNext(1, provider.PoolPermanent)
	s.SetFailNext(0, provider.PoolPermanent) // cancels
	if err := s.Put(ctx, server("1")); err != nil {
		t.Fatalf("put after cancel: %v", err)
	}
}

func TestFailRate(t *testing.T) {
	ctx := context.Background()
	r := NewRegistry()
	always := r.New("always", Config{FailRate: 1})
	for range 20 {
		if err := always.Put(ctx, server("1")); provider.Classify(err) != provider.Retryable || err == nil {
			t.Fatalf("fail_rate 1: Put = %v", err)
		}
	}
	if always.Len() != 0 {
		t.Fatal("failed put stored the member")
	}
	// The latest configuration applies to every handle.
	r.New("always", Config{FailRate: 0})
	if err := always.Put(ctx, server("1")); err != nil {
		t.Fatalf("fail_rate 0: %v", err)
	}

	half := r.New("half", Config{FailRate: 0.5})
	fails := 0
	for range 400 {
		if half.Put(ctx, server("1")) != nil {
			fails++
		}
	}
	if fails < 100 || fails > 300 {
		t.Fatalf("fail_rate 0.5 failed %d of 400 puts", fails)
	}
}

func TestLatencyRespectsContext(t *testing.T) {
	s := NewRegistry().New("slow", Config{LatencyMS: 20})
	start := time.Now()
	if err := s.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 20*time.Millisecond {
		t.Fatalf("Check took %v, want at least 20ms", d)
	}

	s = NewRegistry().New("slower", Config{LatencyMS: 60_000})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	start = time.Now()
	err := s.Put(ctx, server("1"))
	if !errors.Is(err, context.DeadlineExceeded) || provider.Classify(err) != provider.Retryable {
		t.Fatalf("Put with expiring ctx = %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatal("latency ignored the context")
	}
}

func TestInvalidMembers(t *testing.T) {
	s := NewRegistry().New("w", Config{})
	for _, m := range []provider.Member{
		{},
		{ID: "x", FileName: "../x"},
		{ID: "x", FileName: ".hidden"},
	} {
		if err := s.Put(context.Background(), m); provider.Classify(err) != provider.MemberPermanent {
			t.Fatalf("Put(%+v) = %v, want member-permanent", m, err)
		}
	}
}

func TestDataIsCopied(t *testing.T) {
	s := NewRegistry().New("w", Config{})
	m := server("1")
	if err := s.Put(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	m.Data[0] = 'X'
	got, _ := s.File("1.session")
	if string(got) != "data-1" {
		t.Fatalf("stored data aliased the caller's slice: %q", got)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{{LatencyMS: -1}, {FailRate: 1.5}, {FailRate: -0.1}} {
		if c.Validate() == nil {
			t.Errorf("Validate(%+v) = nil", c)
		}
	}
	if err := (Config{LatencyMS: 5, FailRate: 0.2, Down: true}).Validate(); err != nil {
		t.Errorf("valid config: %v", err)
	}
}

func TestConcurrent(t *testing.T) {
	ctx := context.Background()
	r := NewRegistry()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			s := r.New("shared", Config{FailRate: 0.1})
			for i := range 50 {
				m := server(fmt.Sprintf("%d-%d", w, i))
				for s.Put(ctx, m) != nil {
				}
				if i%2 == 0 {
					for s.Remove(ctx, m) != nil {
					}
				}
				_, _ = s.List(ctx)
				s.SetDown(false)
				s.SetFailNext(0, provider.Retryable)
			}
		})
	}
	wg.Wait()
	if n := r.Get("shared").Len(); n != 8*25 {
		t.Fatalf("Len = %d, want %d", n, 8*25)
	}
}
