package cli

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/syncbuf"
)

// A log format, level or access-log switch berth does not know is a usage
// error (exit 2) naming the valid values.
func TestLogSettingsRefuseBadValues(t *testing.T) {
	db := filepath.Join(t.TempDir(), "b.db")
	for _, c := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{map[string]string{"BERTH_LOG_FORMAT": "yaml"}, nil, "want text or json"},
		{nil, []string{"--log-format", "xml"}, "want text or json"},
		{map[string]string{"BERTH_LOG_LEVEL": "loud"}, nil, "want debug, info, warn or error"},
		{nil, []string{"--log-level", "trace"}, "want debug, info, warn or error"},
		{map[string]string{"BERTH_ACCESS_LOG": "maybe"}, nil, "BERTH_ACCESS_LOG"},
	} {
		t.Run(c.want, func(t *testing.T) { // a subtest: its Setenv ends with it
			// An address that cannot be listened on: were the value let
			// through, serve would fail (exit 1) instead of serving forever.
			_, errOut, code := run(t, c.env, append([]string{"serve", "--db", db, "--listen", "no-such-address"}, c.args...)...)
			if code != 2 || !strings.Contains(errOut, c.want) {
				t.Errorf("%v %v: exit %d, %q; want 2 and %q", c.env, c.args, code, errOut, c.want)
			}
		})
	}
}

// The level filters: at error a warning is not written; -v means debug.
func TestLogLevel(t *testing.T) {
	var buf syncbuf.Buffer
	l := &logFlags{format: "JSON", level: "error"}
	if err := l.check(); err != nil {
		t.Fatal(err)
	}
	l.newLogger(&buf, false).Warn("hidden")
	l.newLogger(&buf, false).Error("shown")
	l.newLogger(&buf, true).Debug("verbose")
	if s := buf.String(); strings.Contains(s, "hidden") || !strings.Contains(s, `"msg":"shown"`) || !strings.Contains(s, `"msg":"verbose"`) {
		t.Errorf("logged %q", s)
	}
}

// berth serve with BERTH_LOG_FORMAT=json and the access log writes only
// JSON lines, among them its start-up warning and a request's access line.
func TestServeLogsJSONWithAccessLog(t *testing.T) {
	for k, v := range map[string]string{"BERTH_LOG_FORMAT": "json", "BERTH_ACCESS_LOG": "1", "BERTH_SECRET_KEY": "", "BERTH_ADMIN_TOKEN": ""} {
		t.Setenv(k, v)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut syncbuf.Buffer
	done := make(chan error, 1)
	go func() {
		done <- runServe(ctx, []string{"--db", filepath.Join(t.TempDir(), "j.db"), "--listen", "127.0.0.1:0"}, &out, &errOut)
	}()
	re := regexp.MustCompile(`serving on (http://\S+)`)
	var url string
	for deadline := time.Now().Add(30 * time.Second); url == ""; time.Sleep(20 * time.Millisecond) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			url = m[1]
		} else if time.Now().After(deadline) {
			cancel()
			t.Fatalf("berth did not start: %s %s", out.String(), errOut.String())
		}
	}
	resp, err := http.Get(url + "/healthz?code=NOT-LOGGED")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop when its context ended")
	}
	var sawWarn, sawAccess bool
	for _, s := range strings.Split(strings.TrimSpace(errOut.String()), "\n") {
		var l struct{ Level, Msg, Path string }
		if err := json.Unmarshal([]byte(s), &l); err != nil || l.Level == "" || l.Msg == "" {
			t.Errorf("not a JSON line with level and msg: %q", s)
		}
		sawWarn = sawWarn || l.Level == "WARN"
		sawAccess = sawAccess || l.Msg == "http request" && l.Path == "GET /healthz"
	}
	if !sawWarn || !sawAccess || strings.Contains(errOut.String(), "NOT-LOGGED") {
		t.Errorf("warning %v, access line %v:\n%s", sawWarn, sawAccess, errOut.String())
	}
}
