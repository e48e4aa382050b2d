package web_test

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/app/apptest"
)

// seatPosition is the queue position the status page shows.
var seatPosition = regexp.MustCompile(`<dd id="seat-position">(\d+)</dd>`)

// The public status page shows a waiting user's place in the queue, in
// both languages, and the place it shows is the current one: when the
// seat ahead frees up, the second in line is seated and the third moves
// up to first. A seated user's page shows no place. (Issue 15 §3.)
func TestStatusPageQueuePosition(t *testing.T) {
	c := startConsole(t)
	c.h.Pool("team-1", "team", 1, 0)
	var gen struct{ Codes []string }
	c.h.Do("POST", "/api/v1/codes/batch", map[string]any{"count": 3, "max_uses": 1, "valid_for": "720h", "rebind_limit": 3}).MustStatus(t, 201).JSON(t, &gen)
	emails := []string{"first@example.com", "second@example.com", "third@example.com"}
	cl := c.client()
	for i, e := range emails {
		r := c.do(cl, "POST", "/redeem", url.Values{"email": {e}, "code": {gen.Codes[i]}}, nil)
		if r.Status != 200 {
			t.Fatalf("redeem %s: %d %s", e, r.Status, r.Body)
		}
		if i > 0 && !strings.Contains(r.Body, fmt.Sprintf("you are number %d in the queue", i)) {
			t.Fatalf("redeem page of %s does not say place %d: %s", e, i, r.Body)
		}
	}
	// status posts the status form and returns the place shown (0: none).
	status := func(i int, lang string) (int, string) {
		t.Helper()
		r := c.do(cl, "POST", "/status", url.Values{"email": {emails[i]}, "code": {gen.Codes[i]}}, map[string]string{"Accept-Language": lang})
		if r.Status != 200 {
			t.Fatalf("status of %s: %d %s", emails[i], r.Status, r.Body)
		}
		m := seatPosition.FindStringSubmatch(r.Body)
		if m == nil {
			return 0, r.Body
		}
		var n int
		fmt.Sscan(m[1], &n)
		return n, r.Body
	}
	if n, body := status(0, "en"); n != 0 || strings.Contains(body, "Place in the queue") {
		t.Fatalf("the seated user's page shows a queue place (%d)", n)
	}
	for i, want := range map[int]int{1: 1, 2: 2} {
		n, body := status(i, "en")
		if n != want || !strings.Contains(body, "Place in the queue") || !strings.Contains(body, "waiting in the queue") {
			t.Fatalf("%s's page shows place %d, want %d:\n%s", emails[i], n, want, body)
		}
	}
	if n, body := status(2, "zh-CN"); n != 2 || !strings.Contains(body, "排队位置") || !strings.Contains(body, "排队中") {
		t.Fatalf("the page in Chinese shows place %d, want 2 under 排队位置", n)
	}

	var seats struct{ Items []struct{ ID int64 } }
	c.h.Do("GET", "/api/v1/seats?email="+emails[0]+"&state=active", nil).MustStatus(t, 200).JSON(t, &seats)
	if len(seats.Items) != 1 {
		apptest.Eventually(t, 10*time.Second, "the first seat active", func() bool {
			c.h.Do("GET", "/api/v1/seats?email="+emails[0]+"&state=active", nil).JSON(t, &seats)
			return len(seats.Items) == 1
		})
	}
	c.h.Do("POST", fmt.Sprintf("/api/v1/seats/%d/release", seats.Items[0].ID), nil).MustStatus(t, 202)
	apptest.Eventually(t, 10*time.Second, "the second user seated, the third first in line", func() bool {
		second, _ := status(1, "en")
		third, _ := status(2, "en")
		return second == 0 && third == 1
	})
}
