package telegram

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"log/slog"
	"strings"
	"time"

	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/store"
)

// DefaultLeaderInterval is how often a replica that does not run the
// monitor and the bot tries to take them over, and how often the one that
// runs them checks that it still may (Config.LeaderInterval).
const DefaultLeaderInterval = 5 * time.Second

// leaderLockSQL takes the leader lock: a PostgreSQL session-level advisory
// lock named after the schema, so two berths in two schemas of one database
// (the tests' storetest schemas, or two installations) each have a leader.
const leaderLockSQL = `SELECT pg_try_advisory_lock(hashtextextended('berth.telegram.leader:' || current_schema(), 0))`
const leaderUnlockSQL = `SELECT pg_advisory_unlock(hashtextextended('berth.telegram.leader:' || current_schema(), 0))`

// On PostgreSQL several replicas share one database, and each would run
// the alert monitor and the bot: every alert sent once per replica, and
// pollers competing for one bot's updates (Telegram answers a second
// getUpdates poller 409 Conflict, and an update would be answered by
// whichever replica got it). Only the replica holding the leader lock runs
// them; the others try to take it every LeaderInterval.
//
// The lock is a PostgreSQL advisory lock held by one session, on a
// connection of its own (a dedicated one-connection pool, outside the
// store's pools), rather than River's leadership (the river_leader table):
//   - PostgreSQL itself grants it to one session at a time, so two replicas
//     never both hold it, whatever their clocks or pauses;
//   - it ends with the session: a leader that stops, crashes or is killed
//     (kill -9 closes its socket) frees it at once, and a follower takes
//     over at its next try (within LeaderInterval), where River's lease
//     runs 15s past the last renewal;
//   - River exposes no leadership to callers (its elector is internal and
//     river_leader is its private table).
//
// The leader checks its session every LeaderInterval and stops the monitor
// and the bot as soon as the check fails (the lock may be gone with the
// session). The session asks the server to probe a silent peer (TCP
// keepalives, about 25s), so a leader cut off by the network frees the
// lock after it has stopped, not before.
func lead(ctx context.Context, dsn string, interval time.Duration, log *slog.Logger, run func(context.Context)) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		log.Error("telegram: open the leader lock's connection; alerts and bot stay off on this replica", "err", err)
		return
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	failing := false
	for {
		conn, held, err := tryLead(ctx, db, interval)
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			log.Warn("telegram: cannot take the leader lock; trying again", "err", err, "every", interval)
			failing = true
		case err == nil:
			failing = false
		}
		if held {
			log.Info("telegram: this replica holds the leader lock: it runs the alerts and the bot")
			runCtx, stop := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() {
				defer close(done)
				run(runCtx)
			}()
			err := keepLead(ctx, conn, interval)
			stop()
			<-done
			releaseLead(conn)
			if ctx.Err() != nil {
				return
			}
			log.Warn("telegram: lost the leader lock's session; alerts and bot stopped on this replica", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
	}
}

// tryLead takes the lock on a connection of db; the connection is returned
// only when the lock is held.
func tryLead(ctx context.Context, db *sql.DB, interval time.Duration) (*sql.Conn, bool, error) {
	cctx, cancel := context.WithTimeout(ctx, interval+5*time.Second)
	defer cancel()
	conn, err := db.Conn(cctx)
	if err != nil {
		return nil, false, err
	}
	// The server drops a silent peer's session (and its lock) in about
	// 10s + 3×5s; ignored on a Unix socket.
	if _, err := conn.ExecContext(cctx, `SELECT set_config('tcp_keepalives_idle', '10', false),
		set_config('tcp_keepalives_interval', '5', false), set_config('tcp_keepalives_count', '3', false)`); err != nil {
		conn.Close()
		return nil, false, err
	}
	var held bool
	if err := conn.QueryRowContext(cctx, leaderLockSQL).Scan(&held); err != nil || !held {
		conn.Close()
		return nil, false, err
	}
	return conn, true, nil
}

// keepLead returns when ctx ends or the session holding the lock fails.
func keepLead(ctx context.Context, conn *sql.Conn, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		// The lock lives as long as the session: a session that answers
		// still holds it.
		cctx, cancel := context.WithTimeout(ctx, interval+5*time.Second)
		err := conn.PingContext(cctx)
		cancel()
		if err != nil && ctx.Err() == nil {
			return err
		}
	}
}

// releaseLead unlocks and gives the connection back; if the unlock fails the
// connection is thrown away, which ends the session and so the lock.
func releaseLead(conn *sql.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var ok bool
	if err := conn.QueryRowContext(ctx, leaderUnlockSQL).Scan(&ok); err != nil || !ok {
		conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	conn.Close()
}

// Restore sets the active alerts from history: an alert whose latest record
// is alert.fired is active. A replica that takes the monitor over (or a
// restarted berth) goes on where the previous one stopped: it does not
// send an alert again, and it sends the resolution of one that cleared.
func (a *Alerter) Restore(ctx context.Context) error {
	if a.Read == nil {
		return nil
	}
	latest := map[string]model.HistoryEntry{}
	for _, action := range []string{ActAlertFired, ActAlertResolved} {
		hs, err := a.Read.HistoryList(ctx, store.HistoryFilter{Action: action, Limit: 10000})
		if err != nil {
			return err
		}
		for _, h := range hs {
			if h.Actor != model.ActorMonitor {
				continue
			}
			key, _, _ := strings.Cut(h.Reason, ": ")
			if prev, ok := latest[key]; !ok || h.ID > prev.ID {
				latest[key] = h
			}
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.active = map[string]activeAlert{}
	for key, h := range latest {
		if h.Action != ActAlertFired {
			continue
		}
		_, text, _ := strings.Cut(h.Reason, ": ")
		a.active[key] = activeAlert{Alert: Alert{Key: key, Severity: Severity(h.To), Text: text, Pool: h.Pool}, since: h.At}
	}
	return nil
}
