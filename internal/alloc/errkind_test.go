package alloc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/store"
)

// Every error the service returns maps to one kind and one status, the
// same for the API, the console and the metrics; wrapping keeps the kind.
func TestKindOf(t *testing.T) {
	cases := []struct {
		err    error
		kind   Kind
		status int
	}{
		{nil, KindInternal, 500},
		{errors.New("disk on fire"), KindInternal, 500},
		{context.DeadlineExceeded, KindInternal, 500},
		{invalidf("capacity must be positive"), KindInvalid, 422},
		{fmt.Errorf("pool 7: %w", store.ErrNotFound), KindNotFound, 404},
		{ErrNoSeat, KindNotFound, 404},
		{fmt.Errorf("seat 3: %w", ErrMoveInProgress), KindConflict, 409},
		{ErrCodeUsedUp, KindConflict, 409},
		{fmt.Errorf("code: %w", store.ErrConflict), KindConflict, 409},
		{&LimitError{Count: 3, Limit: 3}, KindLimit, 409},
		{fmt.Errorf("move: %w", &RateError{RetryAfter: time.Second, What: "moves"}), KindRate, 429},
		{ErrCodeNotValid, KindForbidden, 403},
		{ErrCodeDisabled, KindForbidden, 403},
		{ErrCodeExpired, KindGone, 410},
	}
	for _, c := range cases {
		k := KindOf(c.err)
		if k != c.kind || k.HTTPStatus() != c.status || http.StatusText(k.HTTPStatus()) == "" {
			t.Errorf("KindOf(%v) = %d (status %d), want %d (status %d)", c.err, k, k.HTTPStatus(), c.kind, c.status)
		}
		if Refused(c.err) != (c.kind != KindInternal) {
			t.Errorf("Refused(%v) = %v", c.err, Refused(c.err))
		}
	}
}
