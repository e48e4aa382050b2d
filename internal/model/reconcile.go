package model

import (
	"encoding/json"
	"time"
)

// ReconcileState is where a reconcile run (one team's comparison of its
// provider's members with its seats, run as a job) is.
type ReconcileState string

const (
	// ReconcileQueued: the run's job waits for a worker.
	ReconcileQueued ReconcileState = "queued"
	// ReconcileRunning: a worker is comparing.
	ReconcileRunning ReconcileState = "running"
	// ReconcileDone: the report is written.
	ReconcileDone ReconcileState = "done"
	// ReconcileFailed: the run ended with an error (Error says which).
	ReconcileFailed ReconcileState = "failed"
)

// ReconcileRun is one reconcile run asked for through the API: the options
// it was asked with and, once done, its report (package reconcile's Report,
// kept as JSON).
type ReconcileRun struct {
	ID         int64           `json:"run"`
	PoolID     int64           `json:"pool_id"`
	Pool       string          `json:"pool"`
	State      ReconcileState  `json:"state"`
	Options    json.RawMessage `json:"options"`
	Report     json.RawMessage `json:"report,omitempty"`
	Error      string          `json:"error,omitempty"`
	Actor      string          `json:"actor"`
	CreatedAt  time.Time       `json:"created_at"`
	FinishedAt time.Time       `json:"finished_at,omitzero"`
}

// History actions of reconciliation.
const (
	// ActReconcileDrift: the periodic comparison found drift on a team.
	ActReconcileDrift = "reconcile.drift"
	// ActReconcileRedeliver: a member the provider lacked is provisioned again.
	ActReconcileRedeliver = "reconcile.redeliver"
)

// Actors of changes berth makes by itself (HistoryEntry.Actor, a pool's
// StatusActor).
const (
	// ActorSystem: berth's own jobs and sweeps.
	ActorSystem = "system"
	// ActorMonitor: the health monitor and the alerts.
	ActorMonitor = "monitor"
	// ActorProvider: a provider's answer (credentials refused).
	ActorProvider = "provider"
)

// TeamSeatState is what a team member is told of their seat (the state of
// alloc.SeatStatus and alloc.RebindResult): coarser than SeatState, and
// including the queue.
type TeamSeatState string

const (
	// TeamSeatUnused: the code has no seat for this email yet (not redeemed).
	TeamSeatUnused TeamSeatState = "unused"
	// TeamSeatPending: a seat is being set up (reserved or provisioning).
	TeamSeatPending TeamSeatState = "pending"
	// TeamSeatActive: the member is in the team.
	TeamSeatActive TeamSeatState = "active"
	// TeamSeatQueued: waiting in the queue for room.
	TeamSeatQueued TeamSeatState = "queued"
	// TeamSeatExpired: the code's time is up.
	TeamSeatExpired TeamSeatState = "expired"
	// TeamSeatReleased: the seat was given up.
	TeamSeatReleased TeamSeatState = "released"
	// TeamSeatRemoving: the seat was given up and the team is still taking
	// the member out (its seat is releasing, or its removal failed and
	// waits for an operator); released once the removal ends.
	TeamSeatRemoving TeamSeatState = "removing"
)

// Live reports whether the member holds or waits for a seat.
func (s TeamSeatState) Live() bool {
	return s == TeamSeatPending || s == TeamSeatActive || s == TeamSeatQueued
}
