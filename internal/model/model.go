// Package model holds berth's domain types: pools, seats, members and the
// typed states they move through. It has no behaviour beyond validation of
// its own enumerations, so every other package can depend on it.
package model

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Kind is what a pool holds: accounts on servers or users on teams.
type Kind string

const (
	KindServer Kind = "server"
	KindTeam   Kind = "team"
)

// Kinds lists every pool kind.
func Kinds() []Kind { return []Kind{KindServer, KindTeam} }

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool { return k == KindServer || k == KindTeam }

// PoolStatus is the one status field of a pool (docs/design.md, "Pool status").
type PoolStatus string

const (
	StatusActive            PoolStatus = "active"
	StatusPaused            PoolStatus = "paused"
	StatusDraining          PoolStatus = "draining"
	StatusBanned            PoolStatus = "banned"
	StatusCredentialInvalid PoolStatus = "credential_invalid"
	StatusOffline           PoolStatus = "offline"
)

// PoolStatuses lists every pool status.
func PoolStatuses() []PoolStatus {
	return []PoolStatus{StatusActive, StatusPaused, StatusDraining, StatusBanned, StatusCredentialInvalid, StatusOffline}
}

// Valid reports whether s is a known status.
func (s PoolStatus) Valid() bool {
	for _, v := range PoolStatuses() {
		if s == v {
			return true
		}
	}
	return false
}

// Unhealthy reports whether members may leave the pool for free.
func (s PoolStatus) Unhealthy() bool {
	return s == StatusBanned || s == StatusCredentialInvalid || s == StatusOffline
}

// TakesMembers reports whether the pool accepts new members.
func (s PoolStatus) TakesMembers() bool { return s == StatusActive }

// ParsePoolStatus validates a status given by a user. "inactive" and
// "stopped", the words of the origin reports, are accepted as "paused".
func ParsePoolStatus(s string) (PoolStatus, error) {
	switch s {
	case "inactive", "stopped":
		return StatusPaused, nil
	}
	st := PoolStatus(s)
	if !st.Valid() {
		return "", fmt.Errorf("unknown status %q (want one of active, paused, draining, banned, credential_invalid, offline)", s)
	}
	return st, nil
}

// SeatState is where a seat is in its life.
type SeatState string

const (
	SeatReserved      SeatState = "reserved"
	SeatProvisioning  SeatState = "provisioning"
	SeatActive        SeatState = "active"
	SeatReleasing     SeatState = "releasing"
	SeatReleased      SeatState = "released"
	SeatFailed        SeatState = "failed"
	SeatReleaseFailed SeatState = "release_failed"
)

// Counted reports whether a seat in this state counts against capacity.
func (s SeatState) Counted() bool { return s != SeatReleased && s != SeatFailed }

// Live reports whether the seat holds (or is about to hold) its member.
func (s SeatState) Live() bool {
	return s == SeatReserved || s == SeatProvisioning || s == SeatActive
}

// Pool is a place with limited room for members.
type Pool struct {
	ID              int64             `json:"id"`
	Name            string            `json:"name"`
	Kind            Kind              `json:"kind"`
	Capacity        int               `json:"capacity"`
	Used            int               `json:"used"`
	Status          PoolStatus        `json:"status"`
	StatusMessage   string            `json:"status_message"`
	StatusChangedAt time.Time         `json:"status_changed_at"`
	StatusActor     string            `json:"status_actor"`
	Labels          map[string]string `json:"labels"`
	Priority        int               `json:"priority"`
	Weight          int               `json:"weight"` // share of new members (docs/design.md, "Placement"); at least 1
	ProviderType    string            `json:"provider_type"`
	CreatedAt       time.Time         `json:"created_at"`
}

// Free is the room left in the pool.
func (p Pool) Free() int {
	if p.Used >= p.Capacity {
		return 0
	}
	return p.Capacity - p.Used
}

// MemberState is where a member is in placement.
type MemberState string

const (
	// MemberPending: accepted and stored, not yet placed or queued (a crash
	// here is recovered by the pending sweep at start).
	MemberPending MemberState = "pending"
	MemberPlaced  MemberState = "placed"
	MemberQueued  MemberState = "queued"
	// MemberFailed: no pool can ever take it (member-level permanent error).
	MemberFailed MemberState = "failed"
)

// Member is one thing placed into pools: an account or a user.
type Member struct {
	ID          int64             `json:"id"`
	Kind        Kind              `json:"kind"`
	ExternalID  string            `json:"external_id"`
	AffinityKey string            `json:"affinity_key"`
	Labels      map[string]string `json:"labels"`
	FileName    string            `json:"file_name,omitempty"`
	State       MemberState       `json:"state"`
	Reason      string            `json:"reason"`
	Why         *Why              `json:"why,omitempty"` // Reason as data, when a placement's
	CreatedAt   time.Time         `json:"created_at"`
}

// Seat is one member in one pool.
type Seat struct {
	ID        int64     `json:"id"`
	MemberID  int64     `json:"member_id"`
	Member    string    `json:"member"`
	PoolID    int64     `json:"pool_id"`
	Pool      string    `json:"pool"`
	State     SeatState `json:"state"`
	MoveFrom  int64     `json:"move_from,omitempty"`
	CodeID    int64     `json:"code_id,omitempty"`
	Attempts  int       `json:"attempts"`
	LastError string    `json:"last_error,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// QueueEntry is a member waiting for room.
type QueueEntry struct {
	ID         int64     `json:"id"`
	MemberID   int64     `json:"member_id"`
	Member     string    `json:"member"`
	Kind       Kind      `json:"kind"`
	IsMove     bool      `json:"is_move"`
	FromSeat   int64     `json:"from_seat,omitempty"`
	Reason     string    `json:"reason"`
	Why        *Why      `json:"why,omitempty"` // Reason as data; nil in entries queued before it was kept
	Position   int       `json:"position"`
	EnqueuedAt time.Time `json:"enqueued_at"`
}

// HistoryEntry records one state change with its reason and actor.
type HistoryEntry struct {
	ID     int64     `json:"id"`
	At     time.Time `json:"at"`
	Member string    `json:"member"`
	Pool   string    `json:"pool,omitempty"`
	Action string    `json:"action"`
	From   string    `json:"from"`
	To     string    `json:"to"`
	Reason string    `json:"reason"`
	// Why is Reason as data when it is a placement's (placed, queued).
	Why   *Why   `json:"why,omitempty"`
	Actor string `json:"actor"`
	// CodeID names the redeem code a code or rebind action counts against.
	CodeID int64 `json:"code_id,omitempty"`
}

// History actions.
const (
	ActPoolCreated     = "pool.created"
	ActPoolUpdated     = "pool.updated"
	ActPoolStatus      = "pool.status"
	ActPlaced          = "placed"
	ActQueued          = "queued"
	ActDelivered       = "delivered"
	ActDeliveryFailed  = "delivery.failed"
	ActRejected        = "rejected"
	ActMoveStarted     = "move.started"
	ActMoved           = "moved"
	ActReleased        = "released"
	ActReleaseFailed   = "release.failed"
	ActRelease         = "release.started"
	ActDrainStarted    = "drain.started"
	ActHealthOffline   = "health.offline"
	ActHealthRecovered = "health.recovered"

	// Teams and codes. Invariant 3 of docs/design.md: a code's used_count equals
	// its code.used minus code.refunded rows, its rebind_count its
	// rebind.charged minus rebind.refunded rows.
	ActCodesCreated   = "codes.created"
	ActCodeUsed       = "code.used"
	ActCodeRefunded   = "code.refunded"
	ActCodeBound      = "code.bound"
	ActCodeExpired    = "code.expired"
	ActCodeStatus     = "code.status"
	ActRebindCharged  = "rebind.charged"
	ActRebindRefunded = "rebind.refunded"
	ActMoveRequested  = "move.requested"
	ActMoveFailed     = "move.failed"
	ActMoveCancelled  = "move.cancelled"
	ActSeatCarried    = "seat.carried"
	ActOrphanRepaired = "orphan.repaired"
	ActExpiryWarning  = "expiry.warning"
	ActMoveNotified   = "move.notified" // the user was told of a finished move by e-mail
	ActQueueCancelled = "queue.cancelled"
)

// SeatStates lists every seat state.
func SeatStates() []SeatState {
	return []SeatState{SeatReserved, SeatProvisioning, SeatActive, SeatReleasing, SeatReleased, SeatFailed, SeatReleaseFailed}
}

// CodeStatus is where a redeem code is in its life.
type CodeStatus string

const (
	CodeUnused   CodeStatus = "unused"
	CodeBound    CodeStatus = "bound"
	CodeExpired  CodeStatus = "expired"
	CodeDisabled CodeStatus = "disabled"
)

// Code is a redeem code. The code itself is only held sealed; Display is
// filled for admins.
type Code struct {
	ID          int64      `json:"id"`
	Display     string     `json:"code,omitempty"`
	Hint        string     `json:"hint"`
	Group       string     `json:"group"`
	Labels      Labels     `json:"labels,omitempty"` // placement constraints beyond the group
	MaxUses     int        `json:"max_uses"`
	UsedCount   int        `json:"used_count"`
	BoundEmail  string     `json:"bound_email"`
	ValidFor    Duration   `json:"valid_for"`
	ExpiresAt   time.Time  `json:"expires_at,omitzero"`
	ActivatedAt time.Time  `json:"activated_at,omitzero"`
	EndsAt      time.Time  `json:"ends_at,omitzero"`
	RebindLimit int        `json:"rebind_limit"`
	RebindCount int        `json:"rebind_count"`
	Status      CodeStatus `json:"status"`
	Batch       string     `json:"batch"`
	CreatedAt   time.Time  `json:"created_at"`
}

// Duration is a time.Duration that writes as "720h0m0s" and reads what
// ParseDuration does ("720h", "30d", "1d12h").
type Duration time.Duration

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// ParseDuration reads a Go duration ("720h", "90m", "1h30m") that may also
// count days of 24 hours: "30d", "1d12h", "1.5d". Every duration berth reads
// from people (flags, environment, API bodies) goes through it.
func ParseDuration(s string) (time.Duration, error) {
	bad := fmt.Errorf("duration %q: use a number and a unit, like 720h, 30m, 30d or 1d12h", s)
	rest, sign := s, time.Duration(1)
	if len(rest) > 0 && (rest[0] == '-' || rest[0] == '+') {
		if rest[0] == '-' {
			sign = -1
		}
		rest = rest[1:]
	}
	switch rest {
	case "0":
		return 0, nil
	case "":
		return 0, bad
	}
	var days float64
	var goPart strings.Builder
	for rest != "" {
		i := 0
		for i < len(rest) && (rest[i] == '.' || '0' <= rest[i] && rest[i] <= '9') {
			i++
		}
		j := i
		for j < len(rest) && rest[j] != '.' && (rest[j] < '0' || rest[j] > '9') {
			j++
		}
		if i == 0 || j == i {
			return 0, bad
		}
		if rest[i:j] == "d" {
			n, err := strconv.ParseFloat(rest[:i], 64)
			if err != nil {
				return 0, bad
			}
			days += n
		} else {
			goPart.WriteString(rest[:j])
		}
		rest = rest[j:]
	}
	const maxDays = float64(math.MaxInt64/int64(24*time.Hour)) - 1
	if days > maxDays {
		return 0, bad
	}
	var d time.Duration
	if goPart.Len() > 0 {
		var err error
		if d, err = time.ParseDuration(goPart.String()); err != nil {
			return 0, bad
		}
	}
	day := time.Duration(days * float64(24*time.Hour))
	if d > math.MaxInt64-day {
		return 0, bad
	}
	return sign * (d + day), nil
}

// MoveState is where a move is.
type MoveState string

const (
	MovePending   MoveState = "pending"
	MoveDone      MoveState = "done"
	MoveFailed    MoveState = "failed"
	MoveCancelled MoveState = "cancelled"
)

// Move is one member's seat going from one pool to another.
type Move struct {
	ID         int64     `json:"id"`
	MemberID   int64     `json:"member_id"`
	Member     string    `json:"member"`
	FromSeat   int64     `json:"from_seat"`
	ToSeat     int64     `json:"to_seat,omitempty"`
	CodeID     int64     `json:"code_id,omitempty"`
	Paid       bool      `json:"paid"`
	State      MoveState `json:"state"`
	Reason     string    `json:"reason"`
	Actor      string    `json:"actor"`
	CreatedAt  time.Time `json:"created_at"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
}
