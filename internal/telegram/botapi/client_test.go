package botapi_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/telegram/botapi"
)

const token = "123456:TEST-token-never-logged"

// Errors never carry the token, whether the API is unreachable or refuses.
func TestClientKeepsTokenSecret(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	_, err := botapi.NewClient(dead.URL, token, time.Second).GetUpdates(context.Background(), 0, 0)
	if err == nil || strings.Contains(err.Error(), token) || !strings.Contains(err.Error(), "<token>") {
		t.Errorf("unreachable API: %v", err)
	}
	// The Bot API refuses a token it does not know with 401.
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if !strings.HasPrefix(r.URL.Path, "/bot"+token+"/") {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"ok":false,"error_code":401,"description":"Unauthorized"}`)
			return
		}
		fmt.Fprint(w, `{"ok":true,"result":true}`)
	}))
	t.Cleanup(api.Close)
	err = botapi.NewClient(api.URL, "999:wrong-token", time.Second).SendMessage(context.Background(), 1, "hi")
	var ae *botapi.APIError
	if !errors.As(err, &ae) || ae.Code != 401 {
		t.Errorf("wrong token: %v", err)
	}
	if err := botapi.NewClient(api.URL, token, time.Second).SendMessage(context.Background(), 1, "hi"); err != nil {
		t.Errorf("right token: %v", err)
	}
	c := botapi.NewClient(api.URL, token, time.Second)
	if s := fmt.Sprint(c); strings.Contains(s, token) {
		t.Errorf("client prints its token: %s", s)
	}
	if c.API() != api.URL || strings.Contains(c.API(), token) {
		t.Errorf("API() = %q", c.API())
	}
}

// Truncate cuts to a number of characters, not bytes, and marks the cut.
func TestTruncate(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{{"hello", 5, "hello"}, {"hello!", 5, "hell…"}, {"ééééé", 5, "ééééé"}, {"éééééé", 5, "éééé…"}} {
		if got := botapi.Truncate(c.in, c.n); got != c.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}
