package metrics

import (
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/berthhq/berth/internal/buildinfo"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

// /metrics has berth_build_info 1 with the version, revision and Go
// version of the binary.
func TestBuildInfo(t *testing.T) {
	st := storetest.Open(t, store.SQLite)
	rec := httptest.NewRecorder()
	NewHandler(st, slog.New(slog.DiscardHandler), Config{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	info := buildinfo.Read()
	want := fmt.Sprintf(`berth_build_info{goversion=%q,revision=%q,version=%q} 1`, info.GoVersion, info.Revision, info.Version)
	if body := rec.Body.String(); !strings.Contains(body, "\n"+want+"\n") {
		t.Fatalf("no %s in\n%s", want, body)
	}
}
