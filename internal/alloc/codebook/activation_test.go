package codebook_test

import (
	"context"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/alloc/codebook"
	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

// A code's validity is counted from its first use, not from when it was
// made (docs/design.md, "Code"), and a hard end (expires_at) caps it: two
// codes made on day 0 and activated on day 5 with valid_for three days end
// on day 8 (the one without a hard end) and on day 6 (its hard end), and
// ExpireDue ends each at that moment, not before.
func TestExpiryCountsFromActivation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		f := open(t, d)
		f.teams(t, 1, 10)
		day := 24 * time.Hour
		made := f.now
		late := f.generate(t, codebook.Spec{Count: 1, MaxUses: 1, ValidFor: model.Duration(3 * day)})[0]
		capped := f.generate(t, codebook.Spec{Count: 1, MaxUses: 1, ValidFor: model.Duration(3 * day), ExpiresAt: made.Add(6 * day)})[0]
		if c := f.code(t, late); !c.EndsAt.IsZero() || !c.ActivatedAt.IsZero() {
			t.Fatalf("unused code %+v: its clock runs before its first use", c)
		}

		f.advance(5 * day)
		activated := made.Add(5 * day)
		st, err := f.rt.Redeem(ctx, "late@example.com", late, "t")
		if err != nil || !st.ExpiresAt.Equal(activated.Add(3*day)) {
			t.Fatalf("redeem on day 5: %+v (%v), want it to end on day 8 (%s)", st, err, activated.Add(3*day))
		}
		if c := f.code(t, late); !c.ActivatedAt.Equal(activated) || !c.EndsAt.Equal(activated.Add(3*day)) {
			t.Fatalf("code activated on day 5: activated %s, ends %s; want %s and %s", c.ActivatedAt, c.EndsAt, activated, activated.Add(3*day))
		}
		st, err = f.rt.Redeem(ctx, "capped@example.com", capped, "t")
		if err != nil || !st.ExpiresAt.Equal(made.Add(6*day)) {
			t.Fatalf("redeem of the code with a hard end on day 6: %+v (%v), want it to end on day 6", st, err)
		}

		// Day 5 + 23h: the capped code lives; on day 6 it ends, the other not.
		f.advance(23 * time.Hour)
		if n, err := f.book.ExpireDue(ctx); err != nil || n != 0 {
			t.Fatalf("expiry on day 5 + 23h ended %d codes (%v), want none", n, err)
		}
		f.advance(time.Hour + time.Minute)
		if n, err := f.book.ExpireDue(ctx); err != nil || n != 1 {
			t.Fatalf("expiry on day 6 ended %d codes (%v), want the capped one", n, err)
		}
		if c := f.code(t, capped); c.Status != model.CodeExpired {
			t.Fatalf("capped code on day 6: %s, want expired", c.Status)
		}
		// Counted from the code's making it would have ended on day 3,
		// before its redeem; counted from activation it lives to day 8.
		f.advance(day)
		if n, err := f.book.ExpireDue(ctx); err != nil || n != 0 {
			t.Fatalf("expiry on day 7 ended %d codes (%v), want none", n, err)
		}
		if c := f.code(t, late); c.Status != model.CodeBound {
			t.Fatalf("code activated on day 5, on day 7: %s, want bound", c.Status)
		}
		f.advance(day)
		if n, err := f.book.ExpireDue(ctx); err != nil || n != 1 {
			t.Fatalf("expiry on day 8 ended %d codes (%v), want the one activated on day 5", n, err)
		}
	})
}
