package loadbench

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	var hundred []time.Duration
	for i := 1; i <= 100; i++ {
		hundred = append(hundred, ms(i))
	}
	for _, c := range []struct {
		sorted []time.Duration
		q      float64
		want   time.Duration
	}{
		{nil, 0.5, 0},
		{[]time.Duration{ms(7)}, 0.99, ms(7)},
		{[]time.Duration{ms(1), ms(2), ms(3)}, 0.5, ms(2)},
		{[]time.Duration{ms(1), ms(2), ms(3), ms(4)}, 0.5, ms(2)},
		{hundred, 0.5, ms(50)},
		{hundred, 0.99, ms(99)}, // 0.99*100 is 99.00000000000001 in floating point
		{hundred, 1, ms(100)},
		{hundred[:10], 0.99, ms(10)},
	} {
		if got := percentile(c.sorted, c.q); got != c.want {
			t.Errorf("percentile(%d values, %v) = %v, want %v", len(c.sorted), c.q, got, c.want)
		}
	}
}

func TestSampleResult(t *testing.T) {
	s := newSample()
	for i := 1; i <= 10; i++ {
		s.durs = append(s.durs, time.Duration(11-i)*time.Millisecond) // unsorted
	}
	s.status[200], s.status[403], s.status[429] = 7, 2, 1
	s.netErrs = 3
	s.elapsed = 2 * time.Second
	r := s.result("x", s.answered())
	if r.Requests != 13 || r.RPS != 5 || r.P50MS != 5 || r.P99MS != 10 {
		t.Errorf("result = %+v", r)
	}
	if got := formatErrors(r.Errors); got != "403×2, 429×1, net×3" {
		t.Errorf("errors = %q", got)
	}
	if s.ok() != 7 {
		t.Errorf("ok = %d", s.ok())
	}
}

func TestUserAddr(t *testing.T) {
	seen := map[netip.Addr]int{}
	check := func(i int) {
		a := userAddr(i)
		b := a.As4()
		switch {
		case !a.Is4() || !a.IsLoopback():
			t.Fatalf("userAddr(%d) = %v: not IPv4 loopback", i, a)
		case b[1] == 0 || b[3] == 0 || b[3] == 255:
			t.Fatalf("userAddr(%d) = %v: 127.0.x.x or ending in .0/.255", i, a)
		}
		if j, dup := seen[a]; dup {
			t.Fatalf("userAddr(%d) = userAddr(%d) = %v", i, j, a)
		}
		seen[a] = i
	}
	for i := range 200000 {
		check(i)
	}
	// The workloads' ranges start far apart and stay distinct.
	for _, base := range []int{usersMixedValid, usersWrong, usersMixedWrong, usersTrivial} {
		for i := range 1000 {
			check(base + i)
		}
	}
	if got, want := userAddr(0), netip.MustParseAddr("127.1.0.1"); got != want {
		t.Errorf("userAddr(0) = %v, want %v", got, want)
	}
}

func TestLoopbackOnly(t *testing.T) {
	for _, ok := range []string{"http://127.0.0.1:8080", "http://localhost:9/", "http://127.3.4.5:1"} {
		if _, err := loopbackURL(ok); err != nil {
			t.Errorf("loopbackURL(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"http://10.0.0.1:8080", "http://example.com", "https://127.0.0.1:8443", "http://[::1]:8080"} {
		if _, err := loopbackURL(bad); err == nil {
			t.Errorf("loopbackURL(%q) accepted", bad)
		}
	}
	if err := checkLoopback("192.168.1.1:80"); err == nil {
		t.Error("checkLoopback accepted 192.168.1.1")
	}
}

func TestBuildBatch(t *testing.T) {
	files := benchFiles(3, 1024, 42)
	if files[0].name != "639042000001.session" || files[2].name != "639042000003.session" {
		t.Fatalf("names %q, %q", files[0].name, files[2].name)
	}
	if bytes.Equal(files[0].data, files[1].data) || len(files[0].data) != 1024 {
		t.Fatal("files should be 1 KiB of distinct random bytes")
	}
	b, err := buildBatch("bench", files)
	if err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(b.contentType)
	if err != nil || mt != "multipart/form-data" {
		t.Fatalf("content type %q: %v", b.contentType, err)
	}
	mr := multipart.NewReader(b.body(), params["boundary"])
	var script string
	var got []credFile
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(p)
		switch p.FormName() {
		case "script":
			script = string(data)
		case "files":
			got = append(got, credFile{name: p.FileName(), data: data})
		default:
			t.Errorf("unexpected part %q", p.FormName())
		}
	}
	if script != "bench" || len(got) != 3 {
		t.Fatalf("script %q, %d files", script, len(got))
	}
	for i := range got {
		if got[i].name != files[i].name || !bytes.Equal(got[i].data, files[i].data) {
			t.Errorf("file %d: %q", i, got[i].name)
		}
	}
}

// TestLoad runs the client machinery against a local handler: requests
// come from the user's own address, every request is counted, and the
// time limit stops an endless run.
func TestLoad(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := strings.Cut(r.RemoteAddr, ":")
		if host != r.URL.Query().Get("from") {
			http.Error(w, "wrong source "+host, http.StatusTeapot)
			return
		}
		if r.URL.Query().Get("deny") != "" {
			http.Error(w, "no", http.StatusForbidden)
			return
		}
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	c := publicClient(5 * time.Second)
	do := func(deny string) requestFunc {
		return func(ctx context.Context, i int) (int, error) {
			a := userAddr(i)
			return sendJSON(withSource(ctx, a), c, "GET", srv.URL+"/?from="+a.String()+"&deny="+deny, nil, nil)
		}
	}
	s := load(context.Background(), 8, 100, time.Minute, do(""))
	if s.status[200] != 100 || s.answered() != 100 || s.stopped {
		t.Fatalf("statuses %v, net errors %d (%s)", s.status, s.netErrs, s.lastErr)
	}
	s = load(context.Background(), 4, 10, time.Minute, do("1"))
	if s.status[403] != 10 {
		t.Fatalf("statuses %v", s.status)
	}
	s = load(context.Background(), 4, -1, 200*time.Millisecond, do(""))
	if !s.stopped || s.answered() == 0 {
		t.Fatalf("endless run: stopped %v after %d", s.stopped, s.answered())
	}
	// A request without a source address is refused, not sent from anywhere.
	if _, err := sendJSON(context.Background(), c, "GET", srv.URL, nil, nil); err == nil {
		t.Fatal("request without a source address was sent")
	}
}

func TestParallelStopsAtFirstError(t *testing.T) {
	boom := errors.New("boom")
	err := parallel(context.Background(), 4, 1000, func(ctx context.Context, i int) error {
		if i == 10 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if err := parallel(context.Background(), 4, 50, func(context.Context, int) error { return nil }); err != nil {
		t.Fatal(err)
	}
}

func TestConfigCheck(t *testing.T) {
	c := DefaultConfig()
	c.ServerBin = "/bin/true"
	if err := c.check(); err != nil {
		t.Fatal(err)
	}
	for _, mutate := range []func(*Config){
		func(c *Config) { c.Replicas = 2 },                                  // SQLite
		func(c *Config) { c.DB = "berth.db" },                               // not PostgreSQL
		func(c *Config) { c.Only = []string{"nope"} },                       // unknown workload
		func(c *Config) { c.URL = "http://127.0.0.1:1" },                    // no token
		func(c *Config) { c.Clients = 0 },                                   // no clients
		func(c *Config) { c.URL, c.Token, c.DB = "http://x", "t", "pg://" }, // --url with --db
	} {
		bad := DefaultConfig()
		bad.ServerBin = "/bin/true"
		mutate(&bad)
		if err := bad.check(); err == nil {
			t.Errorf("accepted %+v", bad)
		}
	}
	c.Scale(0.01)
	if c.Users != 100 || c.Teams != 20 || c.BanTeams != 2 || c.Clients != 64 {
		t.Errorf("scaled: %+v", c)
	}
}
