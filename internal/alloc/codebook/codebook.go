// Package codebook is the administration of redeem codes: generating
// batches, disabling and re-enabling a code, and ending the codes whose
// time is up (ExpireDue). Redeeming, rebinding and a seat's status place
// members and stay in the placement runtime, package alloc; an expired
// code's seat is released through the small Runtime interface. Its
// refusals use alloc's error vocabulary (alloc.Kind), so the front ends
// classify them in one place (package httpx).
package codebook

import (
	"context"
	"fmt"
	"time"

	"github.com/berthhq/berth/internal/alloc"
	"github.com/berthhq/berth/internal/codes"
	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/store"
)

// Runtime is what code administration needs of the placement runtime;
// *alloc.Service implements it.
type Runtime interface {
	// EndSeatTx, in tx, cancels the seat's pending move and starts its
	// release, for the reason given.
	EndSeatTx(ctx context.Context, tx *store.Tx, seat model.Seat, reason string) error
}

// Service administers redeem codes.
type Service struct {
	st *store.Store
	rt Runtime
}

// New returns a Service writing through st; rt releases expired seats.
func New(st *store.Store, rt Runtime) *Service { return &Service{st: st, rt: rt} }

// Enabled is the status SetStatus is asked for to re-enable a code: the
// code gets the status its state implies (unused, bound or expired).
const Enabled model.CodeStatus = "enabled"

// Spec describes a batch of codes to generate.
type Spec struct {
	Count       int            `json:"count"`
	Group       string         `json:"group"`
	MaxUses     int            `json:"max_uses"`
	ValidFor    model.Duration `json:"valid_for"`
	ExpiresAt   time.Time      `json:"expires_at,omitzero"`
	RebindLimit *int           `json:"rebind_limit"`
	Prefix      string         `json:"prefix"`
	Batch       string         `json:"batch"`
	// Labels are placement constraints beyond the group (region=eu): the
	// code's user goes only to a team carrying every one. The group is
	// the group field, not a label.
	Labels map[string]string `json:"labels,omitempty"`
}

// MaxPerBatch bounds one generation request.
const MaxPerBatch = 100000

// Generate creates codes and returns them for display, once.
func (s *Service) Generate(ctx context.Context, spec Spec, actor string) ([]string, error) {
	switch {
	case spec.Count < 1 || spec.Count > MaxPerBatch:
		return nil, alloc.Invalidf("count must be between 1 and %d, got %d", MaxPerBatch, spec.Count)
	case spec.MaxUses < 0:
		return nil, alloc.Invalidf("max_uses must be at least 1")
	case spec.ValidFor < 0:
		return nil, alloc.Invalidf("valid_for must not be negative")
	case spec.ValidFor > 0 && time.Duration(spec.ValidFor) < time.Second:
		// Kept in whole seconds: less than one would be stored as 0, which
		// means no limit at all.
		return nil, alloc.Invalidf("valid_for %s is under a second: use at least 1s, or 0 for no limit", time.Duration(spec.ValidFor))
	case spec.RebindLimit != nil && (*spec.RebindLimit < 0 || *spec.RebindLimit > 1000):
		return nil, alloc.Invalidf("rebind_limit must be between 0 and 1000")
	case !spec.ExpiresAt.IsZero() && spec.ExpiresAt.Before(s.st.Now()):
		return nil, alloc.Invalidf("expires_at %s is in the past", spec.ExpiresAt.Format(time.RFC3339))
	case len(spec.Group) > 63 || len(spec.Batch) > 63:
		return nil, alloc.Invalidf("group and batch are at most 63 bytes")
	}
	if err := codes.ValidatePrefix(spec.Prefix); err != nil {
		return nil, alloc.Invalidf("%v", err)
	}
	if err := alloc.CheckLabels(spec.Labels); err != nil {
		return nil, err
	}
	if _, ok := spec.Labels["group"]; ok {
		return nil, alloc.Invalidf("labels: give the group in the group field, not as a label")
	}
	if spec.MaxUses == 0 {
		spec.MaxUses = 1
	}
	limit := 3
	if spec.RebindLimit != nil {
		limit = *spec.RebindLimit
	}
	if spec.Batch == "" {
		spec.Batch = s.st.Now().Format("20060102-150405")
	}
	out := make([]string, 0, spec.Count)
	// One transaction: a failure leaves no half batch behind.
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		for range spec.Count {
			display := codes.New(spec.Prefix)
			norm, err := codes.Normalize(display)
			if err != nil {
				return err
			}
			if _, err := tx.CodeCreate(ctx, store.CodeCreateParams{Display: display, Normalized: norm, Hint: codes.Hint(norm),
				Group: spec.Group, MaxUses: spec.MaxUses, ValidFor: time.Duration(spec.ValidFor), ExpiresAt: spec.ExpiresAt,
				RebindLimit: limit, Batch: spec.Batch, Labels: spec.Labels}); err != nil {
				return err
			}
			out = append(out, display)
		}
		return tx.HistoryAdd(ctx, model.HistoryEntry{Action: model.ActCodesCreated, Actor: actor,
			Reason: fmt.Sprintf("%d codes, batch %s, group %q, labels %v, max_uses %d, valid_for %s, rebind_limit %d", spec.Count, spec.Batch, spec.Group,
				spec.Labels, spec.MaxUses, time.Duration(spec.ValidFor), limit)})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SetStatus disables or re-enables a code (admin). Enabling gives the
// status the code's state implies.
func (s *Service) SetStatus(ctx context.Context, code string, status model.CodeStatus, actor string) (model.Code, error) {
	norm, err := codes.Normalize(code)
	if err != nil {
		return model.Code{}, alloc.Invalidf("%v", err)
	}
	var c model.Code
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		if c, err = tx.CodeByLookup(ctx, norm, true); err != nil {
			return err
		}
		before := c.Status
		switch status {
		case model.CodeDisabled:
			c.Status = model.CodeDisabled
		case Enabled, model.CodeUnused, model.CodeBound:
			c.Status = model.CodeUnused
			if c.BoundEmail != "" {
				c.Status = model.CodeBound
			}
			if !c.EndsAt.IsZero() && !c.EndsAt.After(tx.Now()) {
				c.Status = model.CodeExpired
			}
		default:
			return alloc.Invalidf("status %q: use disabled or enabled", status)
		}
		if err := tx.CodeUpdate(ctx, c); err != nil {
			return err
		}
		return tx.HistoryAdd(ctx, model.HistoryEntry{Member: c.BoundEmail, Action: model.ActCodeStatus, From: string(before), To: string(c.Status),
			Actor: actor, CodeID: c.ID, Reason: "code …" + c.Hint})
	})
	return c, err
}
