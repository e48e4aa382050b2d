package alloc

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/store"
)

// Every error the service returns maps to one kind, the same for the API,
// the console and the metrics; wrapping keeps the kind.
func TestKindOf(t *testing.T) {
	cases := []struct {
		err  error
		kind Kind
	}{
		{nil, KindInternal},
		{errors.New("disk on fire"), KindInternal},
		{context.DeadlineExceeded, KindInternal},
		{Invalidf("capacity must be positive"), KindInvalid},
		{fmt.Errorf("pool 7: %w", store.ErrNotFound), KindNotFound},
		{ErrNoSeat, KindNotFound},
		{fmt.Errorf("seat 3: %w", ErrMoveInProgress), KindConflict},
		{ErrCodeUsedUp, KindConflict},
		{fmt.Errorf("code: %w", store.ErrConflict), KindConflict},
		{&LimitError{Count: 3, Limit: 3}, KindLimit},
		{fmt.Errorf("move: %w", &RateError{RetryAfter: time.Second, What: "moves"}), KindRate},
		{ErrCodeNotValid, KindForbidden},
		{ErrCodeDisabled, KindForbidden},
		{ErrCodeExpired, KindGone},
		{fmt.Errorf("plan 4: %w", ErrExpired), KindGone},
		{fmt.Errorf("plan 4: %w", ErrChanged), KindConflict},
	}
	for _, c := range cases {
		if k := KindOf(c.err); k != c.kind {
			t.Errorf("KindOf(%v) = %d, want %d", c.err, k, c.kind)
		}
		if Refused(c.err) != (c.kind != KindInternal) {
			t.Errorf("Refused(%v) = %v", c.err, Refused(c.err))
		}
	}
}
