package telegram_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/berthhq/berth/internal/app"
	"github.com/berthhq/berth/internal/app/apptest"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/telegram"
	"github.com/berthhq/berth/internal/telegram/botapi"
)

// poolRow is what the bot may change of a pool.
type poolRow struct {
	Status, Message, Actor string
	Used                   int
}

// dbSnapshot is a cheap picture of the database.
type dbSnapshot struct {
	Pools                                        map[string]poolRow
	Members, Seats, Queue, History, Codes, Moves int
}

func snapshot(t *testing.T, db *sql.DB) dbSnapshot {
	t.Helper()
	s := dbSnapshot{Pools: map[string]poolRow{}}
	rows, err := db.Query(`SELECT name, status, status_message, status_actor, used FROM pools`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var p poolRow
		if err := rows.Scan(&name, &p.Status, &p.Message, &p.Actor, &p.Used); err != nil {
			t.Fatal(err)
		}
		s.Pools[name] = p
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT (SELECT COUNT(*) FROM members), (SELECT COUNT(*) FROM seats), (SELECT COUNT(*) FROM queue),
		(SELECT COUNT(*) FROM history), (SELECT COUNT(*) FROM codes), (SELECT COUNT(*) FROM moves)`).
		Scan(&s.Members, &s.Seats, &s.Queue, &s.History, &s.Codes, &s.Moves); err != nil {
		t.Fatal(err)
	}
	return s
}

// jsonTrip is text as a Bot API update carries it (invalid UTF-8 becomes U+FFFD).
func jsonTrip(text string) string {
	b, _ := json.Marshal(text)
	var out string
	json.Unmarshal(b, &out)
	return out
}

// FuzzBotAnswer feeds the operator bot any chat text, through Answer and
// through getUpdates from an allowed and from an unknown chat.
func FuzzBotAnswer(f *testing.F) {
	for _, s := range []string{
		"/status", "/pools", "/queue", "/help", "/invite a@b.example CODE-1234", "/invite a@b.example ABCD-EFGH-JKMN-PQRS",
		"/invite nobody CODE", "/pause team-1 maintenance", "/pause team-2 banned already", "/pause nosuch reason",
		"/pause team-1 " + strings.Repeat("r", 501), "/pause", "/pause team-1", "/invite", "/unknown", "", " \t\n",
		"/status@berth_bot", "/PAUSE@berth_bot team-1 x", "/pools@", "@/status", "hello", "/паузa team-1 ремонт",
		"/pause team-1\u00a0reason", "/pause \u200b\u200b x", "/pause \x00\xff reason", "/queue 🚢🚢🚢",
		"/status " + strings.Repeat("é", 2100), "/pause " + strings.Repeat("\x01", 4100) + " r", strings.Repeat("/pools ", 600),
	} {
		f.Add(s)
	}

	// One berth on SQLite with two teams, its log kept out of f (f.Log may
	// not be called while the fuzz target runs).
	appLogs := &logBuffer{}
	h := apptest.Start(f, store.SQLite, func(c *app.Config) {
		c.Log = slog.New(slog.NewTextHandler(appLogs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	})
	h.Pool("team-1", "team", 5, 0)
	banned := h.Pool("team-2", "team", 5, 0)
	h.Do("PATCH", "/api/v1/pools/status", map[string]any{"ids": []int64{banned}, "status": "banned", "message": "setup"}).MustStatus(f, 200)
	db := h.App.Store.DB

	api := &fakeAPI{nextID: 1}
	api.Server = httptest.NewServer(http.HandlerFunc(api.serve))
	f.Cleanup(api.Close)
	logs := &logBuffer{}
	deps := telegram.DepsOf(h.App.Store, h.App.Alloc)
	bot := &telegram.Bot{Client: botapi.NewClient(api.URL, token, time.Second), Svc: h.App.Alloc, Pools: deps.Pools, Read: deps.Read,
		Chats: map[int64]bool{allowed: true}, Log: slog.New(slog.NewTextHandler(logs, nil)), PollTimeout: time.Second}
	runCtx, stop := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		bot.Run(runCtx)
	}()
	f.Cleanup(func() { stop(); <-stopped })

	const actor = "telegram:111:5"

	// command runs one allowed command with do and checks the reply and what
	// changed; a pool a legitimate /pause paused is restored.
	command := func(t *testing.T, via, text string, do func() string) string {
		t.Helper()
		before := snapshot(t, db)
		reply := do()
		after := snapshot(t, db)

		if reply == "" {
			t.Errorf("%s %q: empty reply", via, text)
		}
		if strings.HasPrefix(reply, "internal error") {
			t.Errorf("%s %q: %s\n%s", via, text, reply, appLogs.String())
		}
		n := utf8.RuneCountInString(reply)
		// Only an echoed argument (%q: at most 4 characters a byte) can make a
		// reply longer than a message; sendMessage cuts it.
		if limit := botapi.MaxMessage + 4*len(text); n > limit || (len(text) <= 512 && n > botapi.MaxMessage) {
			t.Errorf("%s %q: reply of %d characters", via, text, n)
		}

		fields := strings.Fields(text)
		cmd, args := "", []string(nil)
		if len(fields) > 0 {
			cmd, _, _ = strings.Cut(strings.ToLower(fields[0]), "@")
			args = fields[1:]
		}
		if cmd == "/pause" && len(args) >= 2 {
			name, reason := args[0], strings.Join(args[1:], " ")
			for pn, p := range after.Pools {
				if p == before.Pools[pn] {
					continue
				}
				if pn != name {
					t.Errorf("%s %q changed pool %s: %+v -> %+v", via, text, pn, before.Pools[pn], p)
				} else if p.Status != "paused" || p.Message != reason || p.Actor != actor || p.Used != before.Pools[pn].Used {
					t.Errorf("%s %q: pool %s %+v -> %+v", via, text, pn, before.Pools[pn], p)
				}
			}
			p, ok := after.Pools[name]
			paused := ok && p.Status == "paused" && p.Message == reason && p.Actor == actor
			wantHistory := before.History
			if strings.Contains(reply, " is paused (was ") {
				wantHistory++
				if !paused {
					t.Errorf("%s %q: replied %q but pool %s is %+v", via, text, reply, name, p)
				}
			} else if ok && p != before.Pools[name] {
				t.Errorf("%s %q: pool %s changed to %+v, reply %q", via, text, name, p, reply)
			}
			if after.History != wantHistory {
				t.Errorf("%s %q: history %d -> %d", via, text, before.History, after.History)
			}
			b, a := before, after
			b.Pools, a.Pools, b.History, a.History = nil, nil, 0, 0
			if !reflect.DeepEqual(a, b) {
				t.Errorf("%s %q: database %+v -> %+v", via, text, b, a)
			}
			if ok && p != before.Pools[name] {
				old := before.Pools[name]
				if _, err := db.Exec(`UPDATE pools SET status = $1, status_message = $2, status_actor = $3 WHERE name = $4`,
					old.Status, old.Message, old.Actor, name); err != nil {
					t.Fatal(err)
				}
				if now := snapshot(t, db); !reflect.DeepEqual(now.Pools, before.Pools) {
					t.Fatalf("pool %s not restored: %+v, want %+v", name, now.Pools, before.Pools)
				}
			}
		} else if !reflect.DeepEqual(before, after) {
			// Reads, usage errors, help, and /invite (there is no code to
			// redeem) change nothing.
			t.Errorf("%s %q (reply %q) changed the database:\n%+v\n%+v", via, text, reply, before, after)
		}
		return reply
	}

	// deliver sends text from chat through getUpdates and returns what the
	// bot sent back; an empty text gets no answer, a trailing /help shows it.
	deliver := func(t *testing.T, chat int64, text string) []sent {
		t.Helper()
		api.mu.Lock()
		api.updates, api.sent = nil, nil
		api.mu.Unlock()
		api.say(chat, text)
		want := 1
		if text == "" {
			api.say(chat, "/help")
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			api.mu.Lock()
			got := append([]sent(nil), api.sent...)
			api.mu.Unlock()
			if len(got) >= want {
				return got
			}
			if time.Now().After(deadline) {
				t.Fatalf("no answer to %q from chat %d; log:\n%s", text, chat, logs.String())
			}
			time.Sleep(time.Millisecond)
		}
	}

	f.Fuzz(func(t *testing.T, text string) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		direct := command(t, "Answer", text, func() string { return bot.Answer(ctx, actor, text) })

		// Through getUpdates, as Telegram delivers it.
		raw := text
		text = jsonTrip(text)
		var got []sent
		command(t, "allowed chat", text, func() string {
			got = deliver(t, allowed, text)
			if len(got) != 1 || got[0].Chat != allowed {
				t.Fatalf("allowed chat, %q: sent %+v", text, got)
			}
			if text == "" {
				return help(t, got[0].Text)
			}
			return got[0].Text
		})
		if n := utf8.RuneCountInString(got[0].Text); n > botapi.MaxMessage {
			t.Errorf("allowed chat, %q: sent %d characters", text, n)
		}
		if text != "" && text == raw && utf8.RuneCountInString(direct) <= botapi.MaxMessage && got[0].Text != direct {
			t.Errorf("allowed chat, %q: sent %q, Answer said %q", text, got[0].Text, direct)
		}

		// A chat that is not allowed gets the refusal and nothing else.
		logs.Reset()
		before := snapshot(t, db)
		got = deliver(t, stranger, text)
		if after := snapshot(t, db); !reflect.DeepEqual(before, after) {
			t.Errorf("stranger %q changed the database:\n%+v\n%+v", text, before, after)
		}
		refusal := fmt.Sprintf("This chat (id %d) may not use this bot. An operator can allow it in BERTH_TELEGRAM_CHATS.", stranger)
		if len(got) != 1 || got[0].Chat != stranger || got[0].Text != refusal {
			t.Errorf("stranger %q: sent %+v", text, got)
		}
		if !strings.Contains(logs.String(), "refused a message from a chat that is not allowed") {
			t.Errorf("stranger %q: refusal not logged:\n%s", text, logs.String())
		}
	})
}

// help checks that the answer to the /help after an empty text is the help.
func help(t *testing.T, reply string) string {
	t.Helper()
	if !strings.HasPrefix(reply, "berth operator bot\n") {
		t.Errorf("the answer to /help after an empty message is %q", reply)
	}
	return reply
}
