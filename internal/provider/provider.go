// Package provider defines how berth puts members into pools and takes them
// out again. Each pool has one provider (sim, sftp, later scim and webhook);
// implementations live in sub-packages.
package provider

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Member is what a provider needs to put one member into its pool.
type Member struct {
	// ID is the member's identity: an account id or an email.
	ID string
	// FileName is the credential file's sanitised base name (servers only),
	// e.g. "639277333688.session".
	FileName string
	// Data is the decrypted credential file (servers only).
	Data []byte
}

// Provider puts members into one pool and takes them out. Every method must be
// idempotent: Put of a member already present succeeds without a second copy,
// Remove of a member already absent succeeds.
type Provider interface {
	// Put delivers the member into the pool.
	Put(ctx context.Context, m Member) error
	// Remove takes the member out of the pool.
	Remove(ctx context.Context, m Member) error
	// List returns the ids (servers: file names) present in the pool.
	List(ctx context.Context) ([]string, error)
	// Check is a cheap health probe of the pool.
	Check(ctx context.Context) error
}

// Class says what a failed provider call means for the caller.
type Class int

const (
	// Retryable: timeouts, 5xx, 429; try again later.
	Retryable Class = iota
	// MemberPermanent: this member can never go into this pool.
	MemberPermanent
	// PoolPermanent: the pool's credentials or configuration are bad.
	PoolPermanent
)

func (c Class) String() string {
	switch c {
	case MemberPermanent:
		return "member-permanent"
	case PoolPermanent:
		return "pool-permanent"
	default:
		return "retryable"
	}
}

// Error is a classified provider failure.
type Error struct {
	Class      Class
	RetryAfter time.Duration // honoured when > 0 (429 Retry-After)
	Err        error
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %v", e.Class, e.Err) }
func (e *Error) Unwrap() error { return e.Err }

// ErrCannotList is wrapped by what List returns when the provider has no
// way to say who its pool holds (a webhook receiver): reconciliation skips
// such teams (test with errors.Is).
var ErrCannotList = errors.New("the provider cannot list its members")

// Classify returns the class of err; unclassified errors are retryable.
func Classify(err error) Class {
	var pe *Error
	if errors.As(err, &pe) {
		return pe.Class
	}
	return Retryable
}

// Errorf builds a classified error.
func Errorf(c Class, format string, args ...any) error {
	return &Error{Class: c, Err: fmt.Errorf(format, args...)}
}
