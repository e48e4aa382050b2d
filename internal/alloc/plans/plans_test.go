package plans

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/berthhq/berth/internal/alloc"
)

// The action table holds the four actions of issue 14 §2, sorted; a name
// registered twice is a programming error.
func TestActionTable(t *testing.T) {
	acts := Actions()
	for _, a := range []string{ActionPoolStatus, ActionDrain, ActionMigrate, ActionRepair} {
		if !slices.Contains(acts, a) {
			t.Errorf("action %s not registered: %v", a, acts)
		}
	}
	if !slices.IsSorted(acts) {
		t.Errorf("Actions not sorted: %v", acts)
	}
	defer func() {
		if recover() == nil {
			t.Error("registering pools.status twice did not panic")
		}
	}()
	Register(ActionPoolStatus, func(context.Context, *Service, json.RawMessage) (Draft, error) { return Draft{}, nil })
}

// A changed plan is a conflict (409) naming each change, at most ten of
// them; an expired one is gone (410).
func TestChangedError(t *testing.T) {
	var changes []string
	for i := range 12 {
		changes = append(changes, fmt.Sprintf("pool p%d is paused, was active", i))
	}
	err := fmt.Errorf("apply: %w", &ChangedError{Plan: 7, Changes: changes})
	if alloc.KindOf(err) != alloc.KindConflict {
		t.Fatalf("kind %v", alloc.KindOf(err))
	}
	msg := err.Error()
	if !strings.Contains(msg, "plan 7") || !strings.Contains(msg, "pool p0 is paused, was active") || !strings.Contains(msg, "and 2 more") ||
		strings.Contains(msg, "p11") {
		t.Fatalf("message %q", msg)
	}
	if alloc.KindOf(fmt.Errorf("plan 7 expired: %w", alloc.ErrExpired)) != alloc.KindGone {
		t.Fatal("an expired plan is not gone")
	}
}

func TestSameSet(t *testing.T) {
	for _, c := range []struct {
		a, b []int64
		want bool
	}{
		{nil, nil, true}, {[]int64{1, 2}, []int64{2, 1}, true}, {[]int64{1}, []int64{1, 2}, false}, {[]int64{1, 3}, []int64{1, 2}, false},
	} {
		if got := sameSet(c.a, c.b); got != c.want {
			t.Errorf("sameSet(%v, %v) = %v", c.a, c.b, got)
		}
	}
}

// Bad params are refused before anything is read: unknown fields, a
// missing pool list, a status that is none.
func TestParamsRefused(t *testing.T) {
	s := &Service{}
	for _, c := range []struct{ action, params string }{
		{ActionPoolStatus, `{"ids": [1], "status": "paused", "colour": "red"}`},
		{ActionPoolStatus, `{"ids": [], "status": "paused"}`},
		{ActionPoolStatus, `{"ids": [1], "status": "sleepy"}`},
		{ActionDrain, `{"id": 0}`},
		{ActionMigrate, `{"from": []}`},
		{ActionRepair, `{"limit": 0}`},
		{ActionRepair, `{"limit": 5, "grace": "-1m"}`},
	} {
		p, _ := planner(c.action)
		if _, err := p(context.Background(), s, json.RawMessage(c.params)); alloc.KindOf(err) != alloc.KindInvalid {
			t.Errorf("%s %s: %v, want invalid", c.action, c.params, err)
		}
	}
}
