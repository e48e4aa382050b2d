package botapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/telegram/botapi"
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
	client := botapi.NewClient(srv.URL, fuzzToken, time.Second)

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
			var want []botapi.Update
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
		var ae *botapi.APIError
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
