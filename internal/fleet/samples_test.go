package fleet

import (
	"testing"
	"time"

	"github.com/berthhq/berth/internal/model"
)

// A day is drawn in 5-minute steps, a week in 35-minute and a month in
// 150-minute ones; a short range still steps by whole minutes.
func TestStep(t *testing.T) {
	for span, want := range map[time.Duration]time.Duration{
		24 * time.Hour: 5 * time.Minute, 7 * 24 * time.Hour: 35 * time.Minute, 30 * 24 * time.Hour: 150 * time.Minute,
		time.Hour: time.Minute, 0: time.Minute,
	} {
		if got := Step(span); got != want {
			t.Errorf("Step(%s) = %s, want %s", span, got, want)
		}
	}
}

// Every group's series carries its kind's queue: Queues merges them into
// one series per kind, by time.
func TestHistoryQueues(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	h := History{Series: []Series{
		{Kind: model.KindServer, Points: []Point{{At: t0, Queued: 1}, {At: t0.Add(time.Hour), Queued: 2}}},
		{Kind: model.KindServer, Group: "gpu", Points: []Point{{At: t0.Add(time.Hour), Queued: 2}, {At: t0.Add(2 * time.Hour), Queued: 3}}},
		{Kind: model.KindTeam, Points: []Point{{At: t0, Queued: 5}}},
	}}
	qs := h.Queues()
	if len(qs) != 2 || qs[0].Kind != model.KindServer || len(qs[0].Points) != 3 || qs[0].Points[2].Queued != 3 || qs[1].Points[0].Queued != 5 {
		t.Errorf("queues %+v", qs)
	}
}
