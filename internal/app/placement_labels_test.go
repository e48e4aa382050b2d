package app_test

import (
	"strings"
	"testing"

	"github.com/berthhq/berth/internal/app/apptest"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

// Issue 14 §6 through the API: labels given at import are matched against
// the servers' labels, a server with a group takes only accounts of its
// group, and the queue drain places under the stored strategy.
func TestImportLabelsAndStoredStrategy(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		h := apptest.Start(t, d)
		mk := func(name string, capacity int, labels map[string]string) int64 {
			var p struct{ ID int64 }
			h.Do("POST", "/api/v1/pools", map[string]any{"name": name, "kind": "server", "capacity": capacity, "labels": labels,
				"provider": map[string]any{"type": "sim"}}).MustStatus(t, 201).JSON(t, &p)
			return p.ID
		}
		mk("eu-1", 4, map[string]string{"region": "eu"})
		mk("vip-1", 4, map[string]string{"region": "eu", "group": "vip"})
		var out struct{ Items []apptest.BatchItem }
		h.ImportRaw(map[string]string{"script": "A", "labels": "region=eu"}, apptest.Files("eu", 0, 3)).MustStatus(t, 200).JSON(t, &out)
		for _, it := range out.Items {
			if it.Status != "placed" || it.Pool != "eu-1" {
				t.Fatalf("region=eu: %+v, want placed on eu-1 (the vip server is closed to ungrouped accounts)", it)
			}
		}
		h.ImportRaw(map[string]string{"script": "A", "label": "group=vip"}, apptest.Files("vip", 0, 1)).MustStatus(t, 200).JSON(t, &out)
		if it := out.Items[0]; it.Status != "placed" || it.Pool != "vip-1" {
			t.Fatalf("group=vip: %+v, want placed on vip-1", it)
		}
		r := h.ImportRaw(map[string]string{"script": "A", "label": "region"}, apptest.Files("bad", 0, 1))
		if r.Status != 422 || !strings.Contains(string(r.Body), "key=value") {
			t.Fatalf("a label without =: %d %s, want 422 saying key=value", r.Status, r.Body)
		}

		// Spread stored for servers: an import that names no strategy
		// spreads one script's accounts (pack would keep them together);
		// the queue drain uses the same setting (alloc's
		// TestStoredStrategyInQueueDrain).
		h.Do("PUT", "/api/v1/placement/settings", map[string]any{"kind": "server", "strategy": "spread"}).MustStatus(t, 200)
		mk("ap-1", 4, map[string]string{"region": "ap"})
		mk("ap-2", 4, map[string]string{"region": "ap"})
		h.ImportRaw(map[string]string{"script": "S", "label": "region=ap"}, apptest.Files("ap", 0, 4)).MustStatus(t, 200).JSON(t, &out)
		used := map[string]int{}
		for _, it := range out.Items {
			used[it.Pool]++
		}
		if used["ap-1"] != 2 || used["ap-2"] != 2 {
			t.Fatalf("import under the stored spread: %v, want 2 and 2", used)
		}
		// The request's own strategy wins for it.
		h.ImportRaw(map[string]string{"script": "P", "label": "region=ap", "strategy": "pack"}, apptest.Files("pk", 0, 2)).MustStatus(t, 200).JSON(t, &out)
		if out.Items[0].Pool != out.Items[1].Pool {
			t.Fatalf("strategy=pack in the request: %+v, want one pool", out.Items)
		}
	})
}
