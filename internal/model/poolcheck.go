package model

import "errors"

// PoolCheckState is where a pool's "test connection" (its provider's Check,
// run as a job) is.
type PoolCheckState string

// The states of a pool check.
const (
	PoolCheckPending PoolCheckState = "pending"
	PoolCheckOK      PoolCheckState = "ok"
	PoolCheckFailed  PoolCheckState = "failed"
)

// PoolCheck is a pool check's state and, when it failed, the provider's
// error.
type PoolCheck struct {
	PoolID int64
	State  PoolCheckState
	Error  string
}

// ErrNoPoolCheck: the job asked for is not a pool check.
var ErrNoPoolCheck = errors.New("no such pool check")
