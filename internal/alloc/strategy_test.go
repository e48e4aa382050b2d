package alloc

import (
	"context"
	"strings"
	"testing"

	"github.com/berthhq/berth/internal/codes"
	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/provider/providers"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

// seatCounts counts the live seats per pool name.
func seatCounts(t *testing.T, s *Service, pools []model.Pool) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, p := range pools {
		seats, err := s.st.SeatList(context.Background(), store.SeatFilter{PoolID: p.ID,
			States: []model.SeatState{model.SeatProvisioning, model.SeatActive, model.SeatReserved}})
		if err != nil {
			t.Fatal(err)
		}
		out[p.Name] = len(seats)
	}
	return out
}

// setCapacity raises a pool's capacity and tells the runtime.
func setCapacity(t *testing.T, s *Service, p model.Pool, c int) {
	t.Helper()
	if _, err := s.st.PoolUpdate(context.Background(), p.ID, store.PoolUpdateParams{Capacity: &c}); err != nil {
		t.Fatal(err)
	}
	s.PoolChanged(context.Background(), p.ID)
}

// The stored strategy of a kind is the one the queue drain uses: members
// queued by an import are spread when the kind's setting is spread (pack
// would put one script's accounts together). A batch request's own
// strategy wins for that request only.
func TestStoredStrategyInQueueDrain(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			s := newTestService(t, d, &jobsStub{})
			if _, err := s.SetPlacementSetting(ctx, model.PlacementSetting{Kind: model.KindServer, Strategy: "spread"}, "t"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.SetPlacementSetting(ctx, model.PlacementSetting{Kind: model.KindServer, Strategy: "sideways"}, "t"); err == nil {
				t.Fatal("an unknown strategy was stored")
			}
			list, err := s.PlacementSettings(ctx)
			if err != nil || len(list) != 1 || list[0].Strategy != "spread" || list[0].UpdatedBy != "t" {
				t.Fatalf("settings %+v (%v)", list, err)
			}
			pools := createPools(t, s, model.KindServer, 2, 0, nil)
			out, err := s.ImportAccounts(ctx, ImportParams{Script: "A", Files: accountFiles("a", 4)})
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range out {
				if o.Status != OutcomeQueued {
					t.Fatalf("import into full pools: %+v", o)
				}
			}
			for _, p := range pools {
				setCapacity(t, s, p, 4)
			}
			if n, err := s.DrainQueue(ctx, model.KindServer); err != nil || n != 4 {
				t.Fatalf("drain placed %d (%v), want 4", n, err)
			}
			if got := seatCounts(t, s, pools); got[pools[0].Name] != 2 || got[pools[1].Name] != 2 {
				t.Fatalf("drain under the stored spread placed %v, want 2 and 2", got)
			}
			// The batch names pack: its script stays on one pool.
			out, err = s.ImportAccounts(ctx, ImportParams{Script: "B", Strategy: "pack", Files: accountFiles("b", 2)})
			if err != nil {
				t.Fatal(err)
			}
			if out[0].Pool != out[1].Pool || out[0].Status != OutcomePlaced {
				t.Fatalf("explicit pack: %+v / %+v, want both on one pool", out[0], out[1])
			}
			// Back to the default (pack): a new script goes where there is
			// most room and stays together.
			if _, err := s.SetPlacementSetting(ctx, model.PlacementSetting{Kind: model.KindServer}, "t"); err != nil {
				t.Fatal(err)
			}
			if list, _ := s.PlacementSettings(ctx); len(list) != 0 {
				t.Fatalf("settings after the removal: %+v", list)
			}
		})
	}
}

// A group's setting wins over its kind's for members of that group.
func TestStoredStrategyPerGroup(t *testing.T) {
	s := newTestService(t, store.SQLite, &jobsStub{})
	ctx := context.Background()
	for _, set := range []model.PlacementSetting{{Kind: model.KindTeam, Strategy: "spread"}, {Kind: model.KindTeam, Group: "vip", Strategy: "pack"}} {
		if _, err := s.SetPlacementSetting(ctx, set, "t"); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		labels map[string]string
		want   string
	}{{nil, "spread"}, {map[string]string{"group": "vip"}, "pack"}, {map[string]string{"group": "std"}, "spread"}} {
		got, err := s.storedStrategy(ctx, s.st.Reader(), model.KindTeam, c.labels)
		if err != nil || string(got) != c.want {
			t.Errorf("%v: %q (%v), want %s", c.labels, got, err, c.want)
		}
	}
	if got, _ := s.storedStrategy(ctx, s.st.Reader(), model.KindServer, nil); got != "pack" {
		t.Errorf("servers without a setting: %q, want pack", got)
	}
}

// Labels given at import are constraints matched against the servers'
// labels; group isolation holds for servers as for teams.
func TestImportLabelsMatched(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			s := newTestService(t, d, &jobsStub{})
			eu := createPools(t, s, model.KindServer, 1, 5, map[string]string{"region": "eu"})[0]
			vip := createPoolNamed(t, s, "vip-server", model.KindServer, 5, map[string]string{"group": "vip", "region": "eu"})
			out, err := s.ImportAccounts(ctx, ImportParams{Script: "A", Labels: map[string]string{"region": "eu"}, Files: accountFiles("eu", 3)})
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range out {
				if o.Status != OutcomePlaced || o.Pool != eu.Name {
					t.Fatalf("region=eu: %+v, want placed on %s (never the vip server)", o, eu.Name)
				}
				if o.Member.Labels["region"] != "eu" {
					t.Fatalf("member labels %v", o.Member.Labels)
				}
			}
			out, err = s.ImportAccounts(ctx, ImportParams{Script: "A", Labels: map[string]string{"region": "ap"}, Files: accountFiles("ap", 1)})
			if err != nil || out[0].Status != OutcomeQueued || !strings.Contains(out[0].Reason, "label mismatch") {
				t.Fatalf("region=ap: %+v (%v), want queued for a label mismatch", out, err)
			}
			out, err = s.ImportAccounts(ctx, ImportParams{Script: "A", Labels: map[string]string{"group": "vip"}, Files: accountFiles("vip", 1)})
			if err != nil || out[0].Status != OutcomePlaced || out[0].Pool != vip.Name {
				t.Fatalf("group=vip: %+v (%v), want placed on %s", out, err, vip.Name)
			}
			if _, err := s.ImportAccounts(ctx, ImportParams{Script: "A", Labels: map[string]string{"bad key": "x"}, Files: accountFiles("x", 1)}); err == nil {
				t.Fatal("a bad label key was accepted")
			}
		})
	}
}

// createPoolNamed creates one pool with a name.
func createPoolNamed(t *testing.T, s *Service, name string, kind model.Kind, capacity int, labels map[string]string) model.Pool {
	t.Helper()
	typ, cfg, err := providers.Validate([]byte(`{"type":"sim"}`))
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.st.PoolCreate(context.Background(), store.PoolCreateParams{Name: name, Kind: kind, Capacity: capacity,
		Labels: labels, ProviderType: typ, ProviderConfig: cfg, Actor: "t"})
	if err != nil {
		t.Fatal(err)
	}
	s.PoolChanged(context.Background(), p.ID)
	return p
}

// newCode creates one single-use code of a group with labels.
func newCode(t *testing.T, s *Service, group string, labels map[string]string) string {
	t.Helper()
	display := codes.New("")
	norm, err := codes.Normalize(display)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.st.CodeCreate(context.Background(), store.CodeCreateParams{Display: display, Normalized: norm,
		Hint: codes.Hint(norm), Group: group, Labels: labels, MaxUses: 1, RebindLimit: 3, Batch: "t"}); err != nil {
		t.Fatal(err)
	}
	return display
}

// Group isolation (docs/design.md, "Placement rules"): a code without a
// group is never seated in a vip team; a vip code is; a team that opts in
// (open=true) takes ungrouped codes too. A code's labels beyond its group
// are matched as well.
func TestGroupIsolation(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			s := newTestService(t, d, &jobsStub{})
			vip := createPoolNamed(t, s, "vip", model.KindTeam, 5, map[string]string{"group": "vip"})
			vipEU := createPoolNamed(t, s, "vip-eu", model.KindTeam, 1, map[string]string{"group": "vip", "region": "eu"})

			st, err := s.Redeem(ctx, "plain@example.com", newCode(t, s, "", nil), "t")
			if err != nil || st.State != model.TeamSeatQueued {
				t.Fatalf("ungrouped code: %+v (%v), want queued: the vip teams are closed to it", st, err)
			}
			if st.Why == nil || st.Why.Filtered["group_mismatch"] != 2 {
				t.Errorf("ungrouped code's why %+v, want 2 group mismatches", st.Why)
			}
			st, err = s.Redeem(ctx, "eu@example.com", newCode(t, s, "vip", map[string]string{"region": "eu"}), "t")
			if err != nil || st.State == model.TeamSeatQueued || st.Pool != vipEU.Name {
				t.Fatalf("vip code with region=eu: %+v (%v), want seated on %s", st, err, vipEU.Name)
			}
			st, err = s.Redeem(ctx, "vip@example.com", newCode(t, s, "vip", nil), "t")
			if err != nil || st.State == model.TeamSeatQueued || st.Pool != vip.Name {
				t.Fatalf("vip code: %+v (%v), want seated on %s", st, err, vip.Name)
			}
			// The vip team opts in: the drain seats the waiting user there.
			if _, err := s.st.PoolUpdate(ctx, vip.ID, store.PoolUpdateParams{Labels: map[string]string{"group": "vip", "open": "true"}}); err != nil {
				t.Fatal(err)
			}
			s.PoolChanged(ctx, vip.ID)
			if n, err := s.DrainQueue(ctx, model.KindTeam); err != nil || n != 1 {
				t.Fatalf("drain placed %d (%v), want the ungrouped user", n, err)
			}
			if got := seatCounts(t, s, []model.Pool{vip, vipEU}); got[vip.Name] != 2 || got[vipEU.Name] != 1 {
				t.Fatalf("seats %v, want vip 2, vip-eu 1", got)
			}
		})
	}
}
