package telegram_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/app/apptest"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/syncbuf"
	"github.com/berthhq/berth/internal/telegram"
	"github.com/berthhq/berth/internal/telegram/botapi"
)

const token = "123456:TEST-token-never-logged"

// fakeAPI speaks the parts of the Telegram Bot API berth uses: getUpdates
// (long polling, offsets) and sendMessage.
type fakeAPI struct {
	*httptest.Server
	mu       sync.Mutex
	updates  []botapi.Update
	nextID   int64
	sent     []sent
	failSend bool
}

type sent struct {
	Chat int64
	Text string
}

func newFakeAPI(t *testing.T) *fakeAPI {
	f := &fakeAPI{nextID: 1}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func writeAPI(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	method, ok := strings.CutPrefix(r.URL.Path, "/bot"+token+"/")
	if !ok || r.Method != http.MethodPost {
		writeAPI(w, 401, map[string]any{"ok": false, "error_code": 401, "description": "Unauthorized"})
		return
	}
	switch method {
	case "getUpdates":
		var in struct {
			Offset  int64 `json:"offset"`
			Timeout int   `json:"timeout"`
		}
		json.NewDecoder(r.Body).Decode(&in)
		deadline := time.Now().Add(time.Duration(in.Timeout) * time.Second)
		for {
			f.mu.Lock()
			var out []botapi.Update
			for _, u := range f.updates {
				if u.UpdateID >= in.Offset {
					out = append(out, u)
				}
			}
			f.mu.Unlock()
			if len(out) > 0 || time.Now().After(deadline) || r.Context().Err() != nil {
				writeAPI(w, 200, map[string]any{"ok": true, "result": append([]botapi.Update{}, out...)})
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	case "sendMessage":
		var in struct {
			ChatID int64  `json:"chat_id"`
			Text   string `json:"text"`
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.ChatID == 0 || in.Text == "" {
			writeAPI(w, 400, map[string]any{"ok": false, "error_code": 400, "description": "Bad Request: message text is empty"})
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.failSend {
			writeAPI(w, 429, map[string]any{"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 1",
				"parameters": map[string]int{"retry_after": 1}})
			return
		}
		f.sent = append(f.sent, sent{in.ChatID, in.Text})
		writeAPI(w, 200, map[string]any{"ok": true, "result": map[string]any{"message_id": len(f.sent), "chat": map[string]any{"id": in.ChatID, "type": "private"},
			"text": in.Text, "date": time.Now().Unix()}})
	default:
		writeAPI(w, 404, map[string]any{"ok": false, "error_code": 404, "description": "Not Found: method not found"})
	}
}

// say queues a message from a private chat for getUpdates.
func (f *fakeAPI) say(chat int64, text string) { f.sayAs(chat, "private", 5, text) }

// sayAs queues a message from user in a chat of the given type.
func (f *fakeAPI) sayAs(chat int64, typ string, user int64, text string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.updates = append(f.updates, botapi.Update{UpdateID: f.nextID, Message: &botapi.Message{MessageID: f.nextID,
		Chat: botapi.Chat{ID: chat, Type: typ}, From: &botapi.User{ID: user, Username: fmt.Sprint("u", user)}, Text: text}})
	f.nextID++
}

func (f *fakeAPI) messages(chat int64) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, s := range f.sent {
		if s.Chat == chat {
			out = append(out, s.Text)
		}
	}
	return out
}

// waitFor waits for a message to chat containing want and returns it.
func (f *fakeAPI) waitFor(t *testing.T, chat int64, want string) string {
	t.Helper()
	var got string
	apptest.Eventually(t, 10*time.Second, fmt.Sprintf("a message to %d with %q", chat, want), func() bool {
		for _, m := range f.messages(chat) {
			if strings.Contains(m, want) {
				got = m
				return true
			}
		}
		return false
	})
	return got
}

// logBuffer collects log output safely across goroutines.
type logBuffer = syncbuf.Buffer

func pool(t *testing.T, h *apptest.Harness, name string, capacity int) int64 {
	t.Helper()
	var p struct{ ID int64 }
	h.Do("POST", "/api/v1/pools", map[string]any{"name": name, "kind": "team", "capacity": capacity,
		"provider": map[string]any{"type": "sim"}}).MustStatus(t, 201).JSON(t, &p)
	return p.ID
}

func setStatus(t *testing.T, h *apptest.Harness, id int64, status string) {
	t.Helper()
	h.Do("PATCH", "/api/v1/pools/status", map[string]any{"ids": []int64{id}, "status": status, "message": "test"}).MustStatus(t, 200)
}

func code(t *testing.T, h *apptest.Harness) string {
	t.Helper()
	var res struct{ Codes []string }
	h.Do("POST", "/api/v1/codes/batch", map[string]any{"count": 1, "max_uses": 1, "valid_for": "720h"}).MustStatus(t, 201).JSON(t, &res)
	return res.Codes[0]
}

const allowed, stranger = 111, 999

func startBot(t *testing.T, h *apptest.Harness, api *fakeAPI, logs *logBuffer, operators ...int64) *telegram.Service {
	t.Helper()
	cfg, err := telegram.ParseConfig(token, fmt.Sprint(allowed), api.URL)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Operators = operators
	cfg.PollTimeout, cfg.AlertInterval = time.Second, time.Hour
	svc, err := telegram.Start(context.Background(), cfg, h.App.Alloc, telegram.DepsOf(h.App.Store, h.App.Alloc), slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Stop)
	return svc
}

// The bot answers /status in an allowed chat and refuses a chat it does
// not know (a refusal naming the chat id, and a log line), doing nothing
// for it.
func TestBotAnswersStatusAndRefusesUnknownChat(t *testing.T) {
	h := apptest.Start(t, store.SQLite)
	team1 := pool(t, h, "team-1", 5)
	banned := pool(t, h, "team-2", 5)
	setStatus(t, h, banned, "banned")
	api := newFakeAPI(t)
	logs := &logBuffer{}
	startBot(t, h, api, logs)
	// The monitor's first evaluation alerts the allowed chat.
	api.waitFor(t, allowed, "🔴 P1 pool:team-2:banned")

	api.say(stranger, "/status")
	api.say(stranger, "/pause team-1 because")
	api.say(allowed, "/status")
	status := api.waitFor(t, allowed, "berth status")
	for _, want := range []string{
		"team pools: 2 (1 active, 1 banned); 0 of 10 seats used; 5 free in active pools",
		"queue: server 0, team 0",
		"integrity: 0 orphans, 0 zombie moves",
		"alert P1 pool:team-2:banned",
	} {
		if !strings.Contains(status, want) {
			t.Errorf("/status lacks %q:\n%s", want, status)
		}
	}
	// The stranger's messages came first; each got only the refusal.
	got := api.messages(stranger)
	if len(got) != 2 {
		t.Fatalf("stranger got %q", got)
	}
	for _, m := range got {
		if !strings.Contains(m, "This chat (id 999) may not use this bot") {
			t.Errorf("stranger got %q", m)
		}
	}
	var p struct{ Status string }
	h.Do("GET", fmt.Sprintf("/api/v1/pools/%d", team1), nil).MustStatus(t, 200).JSON(t, &p)
	if p.Status != "active" {
		t.Errorf("a stranger paused team-1: %s", p.Status)
	}
	log := logs.String()
	if !strings.Contains(log, "refused a message from a chat that is not allowed") || !strings.Contains(log, "chat=999") {
		t.Errorf("refusal not logged:\n%s", log)
	}
	if strings.Contains(log, token) {
		t.Errorf("the token was logged:\n%s", log)
	}
}

// /invite redeems a code for a user; /pause pauses a pool (recorded with
// the chat as actor); /pools and /queue list.
func TestBotCommands(t *testing.T) {
	h := apptest.Start(t, store.SQLite)
	id := pool(t, h, "team-1", 5)
	c := code(t, h)
	api := newFakeAPI(t)
	logs := &logBuffer{}
	startBot(t, h, api, logs)

	api.say(allowed, "/invite user@example.com "+c)
	api.waitFor(t, allowed, "user@example.com is seated on team-1")
	apptest.Eventually(t, 10*time.Second, "the user in team-1", func() bool {
		p := h.Sims.Get("team-1")
		return p != nil && p.Has("user@example.com")
	})
	api.say(allowed, "/invite other@example.com "+c)
	api.waitFor(t, allowed, "not invited: this code cannot be used with this email")
	api.say(allowed, "/invite only-one-arg")
	api.waitFor(t, allowed, "usage: /invite EMAIL CODE")

	api.say(allowed, "/pause team-1 maintenance tonight")
	api.waitFor(t, allowed, "team-1 is paused (was active)")
	var p struct {
		Status        string
		StatusMessage string `json:"status_message"`
		StatusActor   string `json:"status_actor"`
	}
	h.Do("GET", fmt.Sprintf("/api/v1/pools/%d", id), nil).MustStatus(t, 200).JSON(t, &p)
	if p.Status != "paused" || p.StatusMessage != "maintenance tonight" || p.StatusActor != "telegram:111:5" {
		t.Errorf("pool after /pause: %+v", p)
	}
	api.say(allowed, "/pause nosuch reason")
	api.waitFor(t, allowed, `no pool named "nosuch"`)

	api.say(allowed, "/pools@berth_bot")
	api.waitFor(t, allowed, "team-1 (team) paused 1/5")
	c2 := code(t, h)
	api.say(allowed, "/invite late@example.com "+c2)
	api.waitFor(t, allowed, "late@example.com is queued at position 1")
	api.say(allowed, "/queue")
	q := api.waitFor(t, allowed, "queue: server 0, team 1")
	if !strings.Contains(q, "team #1 late@example.com (new,") {
		t.Errorf("/queue: %s", q)
	}
	api.say(allowed, "/help")
	api.waitFor(t, allowed, "/invite EMAIL CODE — redeem")
}

// In an allowed group chat anyone may read, but only the user ids named in
// BERTH_TELEGRAM_OPERATORS may /pause or /invite: being in the group is not
// enough to change the fleet.
func TestBotGroupChangesOnlyByOperators(t *testing.T) {
	const group, member, operator = allowed, 7, 8
	h := apptest.Start(t, store.SQLite)
	id := pool(t, h, "team-1", 5)
	c := code(t, h)
	api := newFakeAPI(t)
	logs := &logBuffer{}
	startBot(t, h, api, logs, operator)

	api.sayAs(group, "group", member, "/pause team-1 because I can")
	api.waitFor(t, group, "Only operators may change things from a group chat. An operator can allow your user id (7) in BERTH_TELEGRAM_OPERATORS.")
	api.sayAs(group, "supergroup", member, "/invite someone@example.com "+c)
	api.sayAs(group, "group", member, "/pools")
	api.waitFor(t, group, "team-1 (team) active 0/5")
	if n := len(api.messages(group)); n < 3 {
		t.Fatalf("group got %d answers, want the two refusals and /pools", n)
	}
	var p struct{ Status string }
	h.Do("GET", fmt.Sprintf("/api/v1/pools/%d", id), nil).MustStatus(t, 200).JSON(t, &p)
	if p.Status != "active" {
		t.Fatalf("a group member who is not an operator paused team-1: %s", p.Status)
	}
	if h.Sims.Get("team-1") != nil && h.Sims.Get("team-1").Has("someone@example.com") {
		t.Fatal("a group member who is not an operator invited a user")
	}
	if !strings.Contains(logs.String(), "refused a changing command from a user who is not an operator") {
		t.Errorf("refusal not logged:\n%s", logs.String())
	}

	api.sayAs(group, "group", operator, "/pause team-1 maintenance")
	api.waitFor(t, group, "team-1 is paused (was active)")
}

// With a BaseURL a fired alert ends with the absolute link of the console
// page that shows it; without one it carries no link.
func TestAlertsLinkConsole(t *testing.T) {
	api := newFakeAPI(t)
	ctx := context.Background()
	for _, base := range []string{"", "https://example.com/berth"} {
		a := &telegram.Alerter{Client: botapi.NewClient(api.URL, token, time.Second), Chats: []int64{7}, BaseURL: base}
		before := len(api.messages(7))
		err := a.Update(ctx, []telegram.Alert{
			{Key: "orphans", Severity: telegram.P0, Text: "1 member(s)"},
			{Key: "pool:team-1:banned", Severity: telegram.P1, Text: "team-1 is banned", Pool: "team-1"},
			{Key: "release_failed", Severity: telegram.P1, Text: "1 seat(s)"},
		}) // sent P0 first, then by key
		if err != nil {
			t.Fatal(err)
		}
		msgs := api.messages(7)[before:]
		if len(msgs) != 3 {
			t.Fatalf("base %q: %d messages, want 3: %q", base, len(msgs), msgs)
		}
		for i, page := range []string{"/admin/integrity", "/admin/servers", "/admin/seats"} {
			if base == "" {
				if strings.Contains(msgs[i], "http") {
					t.Errorf("no BaseURL, yet message %d links: %q", i, msgs[i])
				}
			} else if !strings.HasSuffix(msgs[i], "\n"+base+page) {
				t.Errorf("message %d %q, want it to end with %s", i, msgs[i], base+page)
			}
		}
	}
}

// Alerts are sent once per key, resolved when they clear, retried when the
// Bot API refuses, and recorded in history.
func TestAlertsDeduplicatedAndResolved(t *testing.T) {
	h := apptest.Start(t, store.SQLite)
	api := newFakeAPI(t)
	ctx := context.Background()
	a := &telegram.Alerter{Client: botapi.NewClient(api.URL, token, time.Second), Chats: []int64{1, 2}, History: h.App.Store,
		Log: slog.New(slog.DiscardHandler)}
	orphans := telegram.Alert{Key: "orphans", Severity: telegram.P0, Text: "1 member(s)"}
	banned := telegram.Alert{Key: "pool:team-1:banned", Severity: telegram.P1, Text: "team-1 is banned", Pool: "team-1"}
	step := func(current []telegram.Alert, wantNew int) {
		t.Helper()
		before := len(api.messages(1))
		if err := a.Update(ctx, current); err != nil {
			t.Fatal(err)
		}
		if got := len(api.messages(1)) - before; got != wantNew {
			t.Fatalf("%d new messages, want %d: %q", got, wantNew, api.messages(1))
		}
	}
	step([]telegram.Alert{orphans}, 1)
	orphans.Text = "3 member(s)" // same key: no second message
	step([]telegram.Alert{orphans}, 0)
	step([]telegram.Alert{orphans, banned}, 1)
	if act := a.Active(); len(act) != 2 || act[0].Key != "orphans" {
		t.Fatalf("active %+v", act)
	}
	step([]telegram.Alert{banned}, 1)
	// The Bot API refuses: the resolution is tried again next time.
	api.mu.Lock()
	api.failSend = true
	api.mu.Unlock()
	if err := a.Update(ctx, nil); err == nil || !strings.Contains(err.Error(), "429") {
		t.Fatalf("update with the API refusing: %v", err)
	}
	api.mu.Lock()
	api.failSend = false
	api.mu.Unlock()
	step(nil, 1)
	step(nil, 0)

	msgs := api.messages(1)
	want := []string{"🔴 P0 orphans\n1 member(s)", "🔴 P1 pool:team-1:banned\nteam-1 is banned", "✅ resolved P0 orphans", "✅ resolved P1 pool:team-1:banned"}
	for i, w := range want {
		if !strings.HasPrefix(msgs[i], w) {
			t.Errorf("message %d %q, want %q…", i, msgs[i], w)
		}
	}
	if len(api.messages(2)) != len(msgs) {
		t.Errorf("chat 2 got %d messages, chat 1 %d", len(api.messages(2)), len(msgs))
	}
	var hist struct {
		Items []struct{ Action, Pool, Reason, Actor, To string }
	}
	h.Do("GET", "/api/v1/history?action=alert.fired", nil).MustStatus(t, 200).JSON(t, &hist)
	if len(hist.Items) != 2 || hist.Items[0].Pool != "team-1" || hist.Items[0].To != "P1" || hist.Items[1].Reason != "orphans: 1 member(s)" || hist.Items[1].Actor != "monitor" {
		t.Errorf("alert.fired history %+v", hist.Items)
	}
	h.Do("GET", "/api/v1/history?action=alert.resolved", nil).MustStatus(t, 200).JSON(t, &hist)
	if len(hist.Items) != 2 {
		t.Errorf("alert.resolved history %+v", hist.Items)
	}
}

// The monitor finds an orphan (P0), a banned team and full pools (P1).
func TestMonitorConditions(t *testing.T) {
	h := apptest.Start(t, store.SQLite)
	ctx := context.Background()
	t1 := pool(t, h, "team-1", 1)
	pool(t, h, "team-2", 1)
	spare := pool(t, h, "team-3", 5)
	setStatus(t, h, spare, "paused")
	alerts, err := telegram.Conditions(ctx, h.App.Store.Reader())
	if err != nil || len(alerts) != 0 {
		t.Fatalf("conditions of a healthy fleet: %+v %v", alerts, err)
	}
	for _, u := range []string{"u1@example.com", "u2@example.com"} {
		if r := h.DoAuth("POST", "/api/v1/public/redeem", map[string]string{"email": u, "code": code(t, h)}, ""); r.Status != 200 {
			t.Fatalf("redeem: %d %s", r.Status, r.Body)
		}
	}
	setStatus(t, h, t1, "banned")
	// An orphan: a second live seat for u1, both older than the grace period.
	st := h.App.Store
	var u1 int64
	st.DB.QueryRow(`SELECT id FROM members WHERE external_id = 'u1@example.com'`).Scan(&u1)
	st.DB.Exec(`UPDATE pools SET used = used + 1 WHERE id = $1`, spare)
	if _, err := st.SeatCreate(ctx, u1, spare, "active", 0, 0); err != nil {
		t.Fatal(err)
	}
	st.DB.Exec(`UPDATE seats SET created_at = created_at - $1 WHERE member_id = $2`, int64(time.Hour/time.Microsecond), u1)

	alerts, err = telegram.Conditions(ctx, st.Reader())
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, a := range alerts {
		keys = append(keys, string(a.Severity)+" "+a.Key)
	}
	if got, want := strings.Join(keys, ", "), "P0 orphans, P1 full:team:, P1 pool:team-1:banned"; got != want {
		t.Fatalf("alerts %s, want %s", got, want)
	}
	if !strings.Contains(alerts[0].Text, "检测到孤儿用户！1 member(s) hold more than one live seat: u1@example.com") {
		t.Errorf("orphan alert %q", alerts[0].Text)
	}
}

// The configuration never prints its token (the client's errors are
// botapi's TestClientKeepsTokenSecret).
func TestConfigKeepsTokenSecret(t *testing.T) {
	cfg, _ := telegram.ParseConfig(token, "1", "")
	if strings.Contains(fmt.Sprint(cfg), token) || strings.Contains(fmt.Sprintf("%+v", cfg), token) {
		t.Errorf("config prints its token: %v", cfg)
	}
}

func TestParseConfig(t *testing.T) {
	if c, err := telegram.ParseConfig("", "", ""); err != nil || c.Enabled() {
		t.Errorf("no token: %+v %v", c, err)
	}
	c, err := telegram.ParseConfig(token, "111, -1002003004005;42", "http://127.0.0.1:8081")
	if err != nil || !c.Enabled() || len(c.Chats) != 3 || c.Chats[1] != -1002003004005 {
		t.Errorf("parsed %v %v", c, err)
	}
	for _, bad := range [][3]string{{token, "", ""}, {token, "abc", ""}, {token, "1", "ftp://x"}} {
		if _, err := telegram.ParseConfig(bad[0], bad[1], bad[2]); err == nil {
			t.Errorf("ParseConfig(%q, %q) accepted", bad[1], bad[2])
		}
	}
}
