package cli

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHealthcheck(t *testing.T) {
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(status)
	}))
	defer srv.Close()
	run := func(args ...string) (int, string) {
		var out, errOut bytes.Buffer
		code := Main(append([]string{"healthcheck"}, args...), &out, &errOut)
		return code, out.String() + errOut.String()
	}
	if code, text := run("--url", srv.URL+"/readyz"); code != 0 || !strings.Contains(text, "ready") {
		t.Fatalf("ready server: exit %d, %q", code, text)
	}
	status = http.StatusServiceUnavailable
	if code, text := run("--url", srv.URL+"/readyz"); code != 1 || !strings.Contains(text, "not ready") {
		t.Fatalf("draining server: exit %d, %q; want 1 and 'not ready'", code, text)
	}
	srv.Close()
	if code, text := run("--url", srv.URL+"/readyz", "--timeout", "1s"); code != 1 || !strings.Contains(text, "does not answer") {
		t.Fatalf("stopped server: exit %d, %q", code, text)
	}
	if code, _ := run("extra"); code != 2 {
		t.Fatalf("a stray argument: exit %d, want 2", code)
	}
}
