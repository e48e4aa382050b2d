package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/berthhq/berth/internal/app"
)

// runDemo starts berth on a fresh SQLite database with the origin report's
// simulated fleet and plays its three scenarios through the HTTP API, then
// a short team part (playTeams: codes, a redeem, a ban, a free move).
func runDemo(ctx context.Context, args []string, out, errOut io.Writer) error {
	fs, cfg := serverFlags("demo", errOut, "")
	exit := fs.Bool("exit", false, "exit after the scenarios instead of serving")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if cfg.DB == "" {
		dir, err := os.MkdirTemp("", "berth-demo-")
		if err != nil {
			return err
		}
		cfg.DB = filepath.Join(dir, "berth.db")
	}
	var err error
	if cfg.AdminToken, err = envSecret("BERTH_ADMIN_TOKEN"); err != nil {
		return err
	}
	if cfg.AdminPassword, err = envSecret("BERTH_ADMIN_PASSWORD"); err != nil {
		return err
	}
	cfg.Log = fs.logger(errOut)
	cfg.Jobs.ProbeInterval = 5 * time.Second
	cfg.Jobs.SweepInterval = 10 * time.Second
	// The dashboard's charts grow by a point a minute while the demo runs.
	cfg.Jobs.SampleInterval = time.Minute
	a, err := app.Start(ctx, *cfg)
	if err != nil && strings.Contains(err.Error(), "address already in use") {
		cfg.Log.Warn("address taken; using a free port", "listen", cfg.Listen)
		cfg.Listen = "127.0.0.1:0"
		a, err = app.Start(ctx, *cfg)
	}
	if err != nil {
		return err
	}
	defer a.Close(context.Background())
	token := a.NewAdminToken
	if token == "" {
		token = cfg.AdminToken
	}
	if token == "" {
		return fmt.Errorf("database %s already has an admin token; run the demo on a fresh --db or set BERTH_ADMIN_TOKEN", cfg.DB)
	}
	c, _ := newClient(a.URL, token)
	fmt.Fprintf(out, "berth demo: database %s\n\n", cfg.DB)
	if err := playScenarios(ctx, c, out); err != nil {
		return err
	}
	if err := playTeams(ctx, c, out); err != nil {
		return err
	}
	// The sample taken at start saw an empty fleet: one more now, so the
	// dashboard's charts show the demo's fleet at once.
	if _, err := a.Store.FleetSampleRecord(ctx, time.Now().UTC().Truncate(time.Second)); err != nil {
		return err
	}
	fmt.Fprintf(out, "\nberth is serving on %s\n  admin token: %s\n  API docs:    %s/docs\n  try:         curl -H 'Authorization: Bearer %s' '%s/api/v1/history?limit=20'\n",
		a.URL, token, a.URL, token, a.URL)
	if a.NewAdminPassword != "" {
		fmt.Fprintf(out, "  sign in:     user admin, password %s (shown once)\n", a.NewAdminPassword)
	}
	if *exit {
		return nil
	}
	fmt.Fprintln(out, "\nPress Ctrl-C to stop.")
	<-ctx.Done()
	return nil
}

// DemoScript is the script id of the demo's accounts (the origin report's).
const DemoScript = "000新人欢迎剧本"

func playScenarios(ctx context.Context, c *client, out io.Writer) error {
	ids := map[string]int64{}
	for i, name := range []string{"worker-01", "los-angeles", "manila"} {
		var p struct{ ID int64 }
		err := c.json(ctx, "POST", "/api/v1/pools", map[string]any{"name": name, "kind": "server", "capacity": 5, "priority": i,
			"labels": map[string]string{"region": name}, "provider": map[string]any{"type": "sim", "latency_ms": 30}}, &p)
		if err != nil {
			return err
		}
		ids[name] = p.ID
	}
	fmt.Fprintln(out, "fleet: worker-01, los-angeles, manila — simulated servers, 5 accounts each")
	next := 1
	batch := func(title string, n int) error {
		fmt.Fprintf(out, "\n%s\n", title)
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		mw.WriteField("script", DemoScript)
		for range n {
			id := fmt.Sprintf("6392773336%02d", next)
			next++
			h := textproto.MIMEHeader{}
			h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="files"; filename="%s.session"`, id))
			w, _ := mw.CreatePart(h)
			fmt.Fprintf(w, "demo session file of %s", id)
		}
		mw.Close()
		var res struct {
			Items []struct{ Account, Status, Pool, Reason string }
		}
		if err := c.do(ctx, "POST", "/api/v1/accounts/batch", mw.FormDataContentType(), &buf, &res); err != nil {
			return err
		}
		for _, it := range res.Items {
			where := it.Pool
			if it.Status != "placed" {
				where = it.Status
			}
			fmt.Fprintf(out, "  %s → %-12s %s\n", it.Account, where, it.Reason)
		}
		return nil
	}
	status := func(name, st, msg string) error {
		fmt.Fprintf(out, "\n%s → %s (%s)\n", name, st, msg)
		return c.json(ctx, "PATCH", "/api/v1/pools/status", map[string]any{"ids": []int64{ids[name]}, "status": st, "message": msg}, nil)
	}
	steps := []func() error{
		func() error {
			return batch("scenario 1 — a new script, every server active: accounts 1-5 fill one server, account 6 goes to the next", 6)
		},
		func() error {
			return batch("scenario 2 — the script already runs on worker-01 and los-angeles: los-angeles fills before manila is used", 3)
		},
		func() error { return status("los-angeles", "paused", "stopped for maintenance") },
		func() error {
			return batch("scenario 3 — los-angeles stopped, worker-01 full: both skipped, manila used", 2)
		},
		func() error { return batch("every server full or stopped: the last account waits in the queue", 4) },
		func() error { return status("los-angeles", "active", "maintenance done") },
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return err
		}
	}
	// Wait for the queue to drain and the files to be delivered.
	deadline := time.Now().Add(20 * time.Second)
	for {
		var res struct{ Items []struct{ State string } }
		if err := c.json(ctx, "GET", "/api/v1/accounts", nil, &res); err != nil {
			return err
		}
		active := 0
		for _, it := range res.Items {
			if it.State == "active" {
				active++
			}
		}
		if active == len(res.Items) || time.Now().After(deadline) {
			fmt.Fprintf(out, "\nqueue drained; %d of %d accounts delivered to their servers\n", active, len(res.Items))
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	var pools struct {
		Items []struct {
			Name, Status   string
			Used, Capacity int
		}
	}
	if err := c.json(ctx, "GET", "/api/v1/pools?kind=server", nil, &pools); err != nil {
		return err
	}
	for _, p := range pools.Items {
		fmt.Fprintf(out, "  %-12s %-7s %d/%d\n", p.Name, p.Status, p.Used, p.Capacity)
	}
	return nil
}
