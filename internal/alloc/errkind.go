package alloc

import (
	"errors"

	"github.com/berthhq/berth/internal/store"
)

// Kind is what a service error means to whoever asked: one vocabulary that
// the JSON API (problem+json), the console and the metrics classify by, so
// the same refusal gets the same answer on every front end. Which HTTP
// status a kind is lives with the front ends (package httpx).
type Kind int

const (
	// KindInternal: berth failed to serve the request (a 500; logged).
	KindInternal Kind = iota
	// KindInvalid: the request is malformed or asks for something
	// impossible (ErrInvalid).
	KindInvalid
	// KindNotFound: what it names does not exist (store.ErrNotFound,
	// ErrNoSeat).
	KindNotFound
	// KindConflict: the state does not allow it now (a move in progress, a
	// code used up, a duplicate).
	KindConflict
	// KindLimit: a count the request would pass is reached (LimitError).
	KindLimit
	// KindRate: too many requests in a window (RateError).
	KindRate
	// KindForbidden: the code cannot be used with this e-mail, or is
	// disabled.
	KindForbidden
	// KindGone: the code has ended.
	KindGone
)

// ErrChanged: what a request rested on changed since it was read (a plan's
// preconditions, package alloc/plans); KindConflict.
var ErrChanged = errors.New("changed since it was read")

// ErrExpired: what the request names has expired (a plan past its
// expiry); KindGone.
var ErrExpired = errors.New("expired")

// KindOf classifies err.
func KindOf(err error) Kind {
	var le *LimitError
	var re *RateError
	switch {
	case err == nil:
		return KindInternal
	case errors.As(err, &re):
		return KindRate
	case errors.As(err, &le):
		return KindLimit
	case errors.Is(err, ErrCodeNotValid), errors.Is(err, ErrCodeDisabled):
		return KindForbidden
	case errors.Is(err, ErrCodeExpired), errors.Is(err, ErrExpired):
		return KindGone
	case errors.Is(err, ErrCodeUsedUp), errors.Is(err, ErrMoveInProgress), errors.Is(err, store.ErrConflict), errors.Is(err, ErrChanged):
		return KindConflict
	case errors.Is(err, ErrNoSeat), errors.Is(err, store.ErrNotFound):
		return KindNotFound
	case errors.Is(err, ErrInvalid):
		return KindInvalid
	}
	return KindInternal
}

// Refused reports whether err refuses the caller's request (a 4xx answer),
// as opposed to berth failing to serve it.
func Refused(err error) bool { return err != nil && KindOf(err) != KindInternal }
