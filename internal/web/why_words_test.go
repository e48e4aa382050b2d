package web

import (
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/model"
)

// Every cause and rule has its words in both languages, and an old row
// without data shows its stored text.
func TestWhyWords(t *testing.T) {
	for _, l := range []lang{en, zh} {
		for _, c := range model.WhyCauses() {
			if _, ok := catalogue["why.cause."+c]; !ok {
				t.Errorf("no words for cause %q", c)
			}
		}
		for _, r := range model.WhyRules() {
			w := &model.Why{Kind: model.KindServer, Considered: 1, Pool: "p", Capacity: 2, Rule: r, AffinityKey: "A"}
			if got := l.Why(w, ""); strings.Contains(got, "why.") || strings.Contains(got, "_") || (l == zh && strings.Contains(got, r)) {
				t.Errorf("%s rule %q: %q", l, r, got)
			}
		}
		if got := l.Why(nil, "3 pools: 1 offline"); got != "3 pools: 1 offline" {
			t.Errorf("old row: %q", got)
		}
	}
	w := &model.Why{Kind: model.KindTeam, Considered: 3, Filtered: map[string]int{"offline": 1, "retired": 1, "full": 1},
		Contended: 8, ExcludedUntil: time.Date(2026, 12, 4, 18, 0, 0, 0, time.UTC)}
	for l, want := range map[lang]string{
		en: "the database refused 8 pools in a row (other replicas placing): 3 teams: 1 offline, 1 full, 1 retired (a pool that refused the member is excluded until 2026-12-04 18:00 UTC)",
		zh: "数据库连续拒绝了 8 个候选（其他副本正在分配）：共 3 个团队：1 个离线，1 个已满，1 个retired（拒绝过它的位置排除至 2026-12-04 18:00 UTC）",
	} {
		if got := l.Why(w, ""); got != want {
			t.Errorf("%s:\n got %q\nwant %q", l, got, want)
		}
	}
}

// An added pool's labels are told key=value, sorted, in both languages.
func TestFitWordsLabels(t *testing.T) {
	c := model.FitChange{Field: model.FitAddPool, Kind: model.KindTeam, Labels: map[string]string{"region": "eu", "group": "vip"}}
	for l, want := range map[lang]string{
		en: "add a team with labels {group=vip, region=eu}",
		zh: "新增一个标签为 {group=vip, region=eu} 的团队",
	} {
		if got := l.Fit(c); got != want {
			t.Errorf("%s: got %q, want %q", l, got, want)
		}
	}
}

// Label items: blank ones skipped, keys and values trimmed, the first item
// that is not key=value named.
func TestLabelItems(t *testing.T) {
	got, bad, ok := labelItems(strings.Split(" region = eu ,, zone=a", ","))
	if !ok || bad != "" || len(got) != 2 || got["region"] != "eu" || got["zone"] != "a" {
		t.Errorf("good items: %v %q %v", got, bad, ok)
	}
	if got, bad, ok := labelItems(strings.Split("region=eu\n =x\nzone", "\n")); ok || bad != "=x" || got != nil {
		t.Errorf("bad items: %v %q %v", got, bad, ok)
	}
	if _, err := parseLabels("a=b\nnope"); err == nil || !strings.Contains(err.Error(), `label "nope": write key=value, one a line`) {
		t.Errorf("pool form labels: %v", err)
	}
}
