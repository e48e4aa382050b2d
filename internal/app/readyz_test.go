package app_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/app"
	"github.com/berthhq/berth/internal/app/apptest"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/store/storetest"
)

// /readyz answers 503 as soon as Close begins, while the listener still
// serves (the drain period), and the process stops after it.
func TestReadyzDrainsBeforeClose(t *testing.T) {
	t.Parallel()
	const drain = 700 * time.Millisecond
	h := apptest.Start(t, store.SQLite, func(c *app.Config) { c.ShutdownDrain = drain })
	h.Do("GET", "/readyz", nil).MustStatus(t, 200)
	start := time.Now()
	closed := make(chan time.Duration)
	go func() {
		h.App.Close(context.Background())
		closed <- time.Since(start)
	}()
	apptest.Eventually(t, 5*time.Second, "/readyz answering 503 during the drain", func() bool {
		return h.Do("GET", "/readyz", nil).Status == 503
	})
	r := h.Do("GET", "/readyz", nil).MustStatus(t, 503)
	if !strings.Contains(string(r.Body), "shutting down") {
		t.Fatalf("503 without the reason: %s", r.Body)
	}
	h.Do("GET", "/healthz", nil).MustStatus(t, 200) // still serving
	if took := <-closed; took < drain {
		t.Fatalf("Close took %s, less than the drain period %s", took, drain)
	}
}

// /readyz answers 503 when the database's key is no longer the key this
// process seals with, and again 200 when it is.
func TestReadyzKeyCheck(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		h := apptest.Start(t, d)
		h.Do("GET", "/readyz", nil).MustStatus(t, 200)
		var id string
		if err := h.App.Store.DB.QueryRow(`SELECT value FROM settings WHERE key = 'secret_key_id'`).Scan(&id); err != nil {
			t.Fatal(err)
		}
		set := func(v string) {
			if _, err := h.App.Store.DB.Exec(`UPDATE settings SET value = $1 WHERE key = 'secret_key_id'`, v); err != nil {
				t.Fatal(err)
			}
		}
		set("another-key")
		r := h.Do("GET", "/readyz", nil).MustStatus(t, 503)
		if !strings.Contains(string(r.Body), "secret key") {
			t.Fatalf("503 without the reason: %s", r.Body)
		}
		// A rotation to this process's key under way: ready.
		if _, err := h.App.Store.DB.Exec(`INSERT INTO settings (key, value) VALUES ('secret_key_rotating_to', $1)`, id); err != nil {
			t.Fatal(err)
		}
		h.Do("GET", "/readyz", nil).MustStatus(t, 200)
		if _, err := h.App.Store.DB.Exec(`DELETE FROM settings WHERE key = 'secret_key_rotating_to'`); err != nil {
			t.Fatal(err)
		}
		set(id)
		h.Do("GET", "/readyz", nil).MustStatus(t, 200)
	})
}

// /readyz answers 503 when this process's job client has stopped; the
// job table's times read on both engines once a job has completed.
func TestReadyzJobs(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		h := apptest.Start(t, d)
		h.Pool("worker-01", "server", 5, 0)
		h.Import("A", apptest.Files("ready", 0, 2))
		apptest.Eventually(t, 30*time.Second, "a completed job", func() bool {
			jt, err := h.App.Store.JobTimes(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			return !jt.LastCompleted.IsZero()
		})
		jt, _ := h.App.Store.JobTimes(context.Background())
		if age := time.Since(jt.LastCompleted); age < -time.Minute || age > time.Minute {
			t.Fatalf("last completion read as %s (%s ago)", jt.LastCompleted, age)
		}
		h.Do("GET", "/readyz", nil).MustStatus(t, 200)
		if err := h.App.Queue.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
		r := h.Do("GET", "/readyz", nil).MustStatus(t, 503)
		if !strings.Contains(string(r.Body), "jobs") {
			t.Fatalf("503 without the reason: %s", r.Body)
		}
		// With nobody working them, new jobs wait: the oldest is read.
		h.Import("A", apptest.Files("waiting", 0, 1))
		jt, err := h.App.Store.JobTimes(context.Background())
		if age := time.Since(jt.OldestAvailable); err != nil || age < -time.Minute || age > time.Minute {
			t.Fatalf("oldest available job read as %s (%s ago), %v", jt.OldestAvailable, age, err)
		}
	})
}
