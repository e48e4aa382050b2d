package app_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/app/apptest"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

// removingStatus is the public seat status with the parts this test reads.
type removingStatus struct {
	State    string
	Pool     string
	Position int
	Message  string
	Why      *struct {
		Considered int
		Filtered   map[string]int
		Removing   string
	}
}

func publicAnswer(t *testing.T, r apptest.Response) removingStatus {
	t.Helper()
	var s removingStatus
	r.MustStatus(t, 200).JSON(t, &s)
	return s
}

// While the team is still taking a released member out (a slow team), the
// public status says "removing" on that team, not "released"; a redeem in
// that window is queued behind the removal, and its answer (and the status
// meanwhile) says so: why.removing names the team, not "full". When the
// removal ends the member is placed on the team and becomes active, and the
// history shows released before the new placement (issue 15 §4).
func TestRedeemWhileRemoving(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		h := apptest.Start(t, d)
		// Every call takes 2 s: the removal leaves a window to look into.
		teamsWith(h, 1, 5, map[string]any{"type": "sim", "latency_ms": 2000})
		code := genCodes(t, h, 1, map[string]any{"max_uses": 2})[0]
		const email = "slow@example.com"
		if _, r := redeem(t, h, email, code); r.Status != 200 {
			t.Fatalf("redeem: %d %s", r.Status, r.Body)
		}
		waitActive(t, h, email, code, "team-1")

		var seats struct{ Items []struct{ ID int64 } }
		h.Do("GET", "/api/v1/seats?email="+email+"&state=active", nil).MustStatus(t, 200).JSON(t, &seats)
		if len(seats.Items) != 1 {
			t.Fatalf("%d active seats, want 1", len(seats.Items))
		}
		h.Do("POST", fmt.Sprintf("/api/v1/seats/%d/release", seats.Items[0].ID), nil).MustStatus(t, 202)

		status := func() removingStatus {
			return publicAnswer(t, h.DoAuth("GET", "/api/v1/public/status?email="+email+"&code="+code, nil, ""))
		}
		if s := status(); s.State != "removing" || s.Pool != "team-1" {
			t.Fatalf("status during the removal: %+v, want removing on team-1", s)
		}

		s := publicAnswer(t, h.DoAuth("POST", "/api/v1/public/redeem", map[string]string{"email": email, "code": code}, ""))
		if s.State != "queued" || s.Why == nil || s.Why.Removing != "team-1" || s.Why.Filtered["full"] != 0 {
			t.Fatalf("redeem during the removal: %+v (why %+v), want queued behind the removal from team-1, not full", s, s.Why)
		}
		if !strings.Contains(s.Message, "removal from team-1") {
			t.Fatalf("redeem message %q, want it to say the removal from team-1", s.Message)
		}
		if removed := len(history(t, h, "member="+email+"&action=released")); removed != 0 {
			t.Fatalf("%d released rows already: the removal ended before the redeem, the window was missed", removed)
		}
		// The status meanwhile: queued (or placed already, if the removal
		// just ended), never released.
		if st := status(); st.State == "queued" {
			if st.Why == nil || st.Why.Removing != "team-1" || !strings.Contains(st.Message, "removal from team-1") {
				t.Fatalf("status while queued behind the removal: %+v (why %+v)", st, st.Why)
			}
		} else if st.State != "pending" && st.State != "active" {
			t.Fatalf("status after the redeem: %q, want queued (or pending, active)", st.State)
		}

		var got removingStatus
		apptest.Eventually(t, 20*time.Second, "placed on team-1 after the removal", func() bool {
			got = status()
			return got.State == "active"
		})
		if got.Pool != "team-1" || got.Why != nil || got.Message != "" {
			t.Fatalf("after the removal: %+v, want active on team-1", got)
		}
		// Oldest first: the release ended before the new seat was placed.
		acts := actions(history(t, h, "member="+email))
		t.Logf("history: %s; redeem answer: %+v %+v", acts, s, s.Why)
		if i, j := strings.LastIndex(acts, "released"), strings.LastIndex(acts, "placed"); i < 0 || j < i {
			t.Fatalf("history %q: want released, then placed", acts)
		}
	})
}
