package httpx

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/alloc"
	"github.com/berthhq/berth/internal/store"
)

// Each kind of service error has one status, whichever front end answers.
func TestErrorStatus(t *testing.T) {
	for err, want := range map[error]int{
		errors.New("disk on fire"):                                    500,
		fmt.Errorf("%w: capacity must be positive", alloc.ErrInvalid): 422,
		fmt.Errorf("pool 7: %w", store.ErrNotFound):                   404,
		alloc.ErrNoSeat:                       404,
		alloc.ErrMoveInProgress:               409,
		alloc.ErrCodeUsedUp:                   409,
		&alloc.LimitError{Count: 3, Limit: 3}: 409,
		&alloc.RateError{RetryAfter: time.Second, What: "moves"}: 429,
		alloc.ErrCodeNotValid: 403,
		alloc.ErrCodeDisabled: 403,
		alloc.ErrCodeExpired:  410,
	} {
		if _, got := ErrorStatus(err); got != want {
			t.Errorf("ErrorStatus(%v) = %d, want %d", err, got, want)
		}
	}
}
