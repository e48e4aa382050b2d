package alloc

import (
	"context"
	"fmt"
	"testing"

	"github.com/berthhq/berth/internal/codes"
	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/provider/providers"
	"github.com/berthhq/berth/internal/store"
)

// The runtime's tests seed pools and codes straight into the store (their
// administration is packages pooladmin and codebook, which import this
// one), and tell the runtime of each pool as pooladmin does.

// createPools creates n pools of kind with the sim provider.
func createPools(t *testing.T, s *Service, kind model.Kind, n, capacity int, labels map[string]string) []model.Pool {
	t.Helper()
	ctx := context.Background()
	typ, cfg, err := providers.Validate([]byte(`{"type":"sim"}`))
	if err != nil {
		t.Fatal(err)
	}
	var out []model.Pool
	for i := range n {
		p, err := s.st.PoolCreate(ctx, store.PoolCreateParams{Name: fmt.Sprintf("%s-%03d", kind, i), Kind: kind, Capacity: capacity,
			Labels: labels, ProviderType: typ, ProviderConfig: cfg, Actor: "t"})
		if err != nil {
			t.Fatal(err)
		}
		s.PoolChanged(ctx, p.ID)
		out = append(out, p)
	}
	return out
}

// newCodes creates n single-use codes (rebind limit 3) and returns them
// as people would type them.
func newCodes(t *testing.T, s *Service, n int) []string {
	t.Helper()
	out := make([]string, n)
	for i := range out {
		out[i] = codes.New("")
		norm, err := codes.Normalize(out[i])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.st.CodeCreate(context.Background(), store.CodeCreateParams{Display: out[i], Normalized: norm,
			Hint: codes.Hint(norm), MaxUses: 1, RebindLimit: 3, Batch: "t"}); err != nil {
			t.Fatal(err)
		}
	}
	return out
}
