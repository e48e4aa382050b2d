package telegram_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/berthhq/berth/internal/app"
	"github.com/berthhq/berth/internal/app/apptest"
	"github.com/berthhq/berth/internal/store"
	"github.com/berthhq/berth/internal/telegram"
)

// fuzzToken is recognisable so that a leak shows in any error text.
const fuzzToken = "123456:SECRET-TOKEN-xyz"

// maxErrLen bounds the text of a client error: errors are logged on every
// retry, so an answer must not be able to blow them up.
const maxErrLen = 2048

// fuzzAnswer is one answer of the fuzzed Bot API.
type fuzzAnswer struct {
	status      int
	retryAfter  string
	contentType string
	body        []byte
}

// validHeaderValue reports whether v survives the trip as a header value:
// net/http's server turns CR and LF into spaces, net/textproto refuses
// other control characters than tab.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c != '\t' && c != '\r' && c != '\n' && (c < 0x20 || c == 0x7f) {
			return false
		}
	}
	return true
}

// checkClientErr checks what holds of every error of the client: no token,
// not in its text nor in any error it wraps (a *url.Error quotes the URL,
// which holds the token), and a bounded length.
func checkClientErr(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if len(err.Error()) > maxErrLen {
		t.Errorf("%s: error of %d bytes: %.200q…", what, len(err.Error()), err.Error())
	}
	for e := err; e != nil; e = errors.Unwrap(e) {
		if strings.Contains(e.Error(), fuzzToken) {
			t.Errorf("%s: error carries the token: %q", what, e.Error())
		}
	}
	var ue *url.Error
	if errors.As(err, &ue) && strings.Contains(ue.URL, fuzzToken) {
		t.Errorf("%s: url error carries the token: %q", what, ue.URL)
	}
}

// FuzzClientAnswer feeds the client's getUpdates and sendMessage answers of
// any status, headers and body.
func FuzzClientAnswer(f *testing.F) {
	up := `{"update_id":5,"message":{"message_id":1,"chat":{"id":111,"type":"private"},"from":{"id":5,"username":"op"},"text":"/status"}}`
	for _, s := range []struct {
		status            uint16
		retryAfter, ctype string
		body              string
	}{
		{200, "", "application/json", `{"ok":true,"result":[]}`},
		{200, "", "application/json", `{"ok":true,"result":[` + up + `,{"update_id":6}]}`},
		{200, "", "", `{"ok":true,"result":null}`},
		{200, "", "application/json", `{"ok":true}`},
		{200, "", "application/json", `{"ok":true,"result":{"message_id":1,"chat":{"id":1,"type":"private"},"text":"hi"}}`},
		{200, "", "application/json", `{"ok":false}`},
		{200, "", "application/json", `{"OK":true,"Result":[{"UPDATE_ID":7}],"ok":false}`},
		{200, "", "application/json", `{"ok":true,"result":[{"update_id":"5"}]}`},
		{200, "", "application/json", `{"ok":true,"result":[{"update_id":1` + strings.Repeat("0", 2100) + `}]}`},
		{200, "", "application/json", `{"ok":true,"result":[{"update_id":1e999}]}`},
		{200, "", "application/json", `{"ok":true,"error_code":"x","result":[]}`},
		{200, "", "text/html", ""},
		{204, "", "application/json", `{"ok":true,"result":[]}`},
		{302, "", "text/html", `{"ok":true,"result":[]}`},
		{401, "", "application/json", `{"ok":false,"error_code":401,"description":"Unauthorized"}`},
		{404, "", "application/json", `{"ok":false,"error_code":404,"description":"Not Found: /bot` + fuzzToken + `/getUpdates"}`},
		{429, "3", "application/json", `{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 3","parameters":{"retry_after":3}}`},
		{429, "Wed, 21 Oct 2015 07:28:00 GMT", "application/json", `{"ok":false,"error_code":429,"parameters":{"retry_after":-1}}`},
		{429, "", "application/json", `{"ok":false,"error_code":429,"parameters":{"retry_after":9223372036854775807}}`},
		{400, "", "application/json", `{"ok":false,"error_code":400,"description":"` + strings.Repeat("too long ", 240) + `"}`},
		{400, "", "application/json", `{"ok":false,"error_code":400,"description":"` + strings.Repeat("x", 2030) + fuzzToken + `"}`},
		{500, "", "application/json", `{"ok":true,"result":[]}`},
		{502, "", "text/html", "<html><body>502 Bad Gateway</body></html>"},
		{503, "120", "text/plain; charset=utf-8", "Service Unavailable"},
		{200, "1\x00", "application/json\r\nX-Evil: 1", `{"ok":true,"result":[]}`},
		{200, strings.Repeat("9", 2100) + "\x01", "text/\x7f", `{"ok":true,"result":[]}`},
		{200, "", "application/json", "\xff\xfe{\"ok\":true}"},
	} {
		f.Add(s.status, s.retryAfter, s.ctype, []byte(s.body))
	}

	var (
		mu  sync.Mutex
		cur fuzzAnswer
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		a := cur
		mu.Unlock()
		if a.retryAfter != "" {
			w.Header().Set("Retry-After", a.retryAfter)
		}
		if a.contentType != "" {
			w.Header().Set("Content-Type", a.contentType)
		}
		w.WriteHeader(a.status)
		w.Write(a.body)
	}))
	f.Cleanup(srv.Close)
	client := telegram.NewClient(srv.URL, fuzzToken, time.Second)

	f.Fuzz(func(t *testing.T, status uint16, retryAfter, contentType string, body []byte) {
		code := int(status)
		if code < 200 || code > 599 { // 1xx are interim answers, not answers
			code = 200 + code%400
		}
		mu.Lock()
		cur = fuzzAnswer{code, retryAfter, contentType, body}
		mu.Unlock()

		// What the client can see and what encoding/json makes of it.
		seen := body
		if code == http.StatusNoContent || code == http.StatusNotModified {
			seen = nil // no body allowed
		}
		var a struct {
			OK          bool            `json:"ok"`
			Result      json.RawMessage `json:"result"`
			ErrorCode   int             `json:"error_code"`
			Description string          `json:"description"`
			Parameters  struct {
				RetryAfter int `json:"retry_after"`
			} `json:"parameters"`
		}
		wellFormed := json.Unmarshal(seen, &a) == nil
		success := code >= 200 && code <= 299
		// Invalid header bytes may make the answer unreadable: then only an
		// error is certain.
		headersOK := validHeaderValue(retryAfter) && validHeaderValue(contentType)

		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		ups, err := client.GetUpdates(ctx, 0, 0)
		cancel()
		checkClientErr(t, "getUpdates", err)
		if wellFormed && a.OK && success {
			var want []telegram.Update
			werr := json.Unmarshal(a.Result, &want)
			switch {
			case werr != nil && err == nil:
				t.Errorf("getUpdates: result %q does not decode (%v) but no error; got %+v", a.Result, werr, ups)
			case werr == nil && headersOK && err != nil:
				t.Errorf("getUpdates: HTTP %d %q: error %v", code, seen, err)
			case werr == nil && err == nil && !reflect.DeepEqual(ups, want):
				t.Errorf("getUpdates: HTTP %d %q: got %#v, encoding/json decodes %#v", code, seen, ups, want)
			}
		} else {
			if err == nil {
				t.Errorf("getUpdates: HTTP %d %q (ok %v, well-formed %v): no error, updates %+v", code, seen, a.OK, wellFormed, ups)
			}
		}
		var ae *telegram.APIError
		if errors.As(err, &ae) {
			if !wellFormed || a.OK {
				t.Errorf("getUpdates: API error %v from HTTP %d %q", err, code, seen)
			} else if want := a.ErrorCode; (want != 0 && ae.Code != want) || (want == 0 && ae.Code != code) {
				t.Errorf("getUpdates: API error code %d, answer had error_code %d and HTTP %d", ae.Code, a.ErrorCode, code)
			}
		}

		ctx, cancel = context.WithTimeout(context.Background(), 300*time.Millisecond)
		err = client.SendMessage(ctx, 111, "hi")
		cancel()
		checkClientErr(t, "sendMessage", err)
		switch {
		case wellFormed && a.OK && success:
			if headersOK && err != nil {
				t.Errorf("sendMessage: HTTP %d %q: error %v", code, seen, err)
			}
		case err == nil:
			t.Errorf("sendMessage: HTTP %d %q (ok %v, well-formed %v): no error", code, seen, a.OK, wellFormed)
		}
	})
}

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
	bot := &telegram.Bot{Client: telegram.NewClient(api.URL, token, time.Second), Svc: h.App.Alloc, Pools: deps.Pools, Read: deps.Read,
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
		if limit := telegram.MaxMessage + 4*len(text); n > limit || (len(text) <= 512 && n > telegram.MaxMessage) {
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
		if n := utf8.RuneCountInString(got[0].Text); n > telegram.MaxMessage {
			t.Errorf("allowed chat, %q: sent %d characters", text, n)
		}
		if text != "" && text == raw && utf8.RuneCountInString(direct) <= telegram.MaxMessage && got[0].Text != direct {
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
