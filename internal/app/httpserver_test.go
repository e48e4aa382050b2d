package app_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/app"
	"github.com/berthhq/berth/internal/app/apptest"
	"github.com/berthhq/berth/internal/store"
)

// A body trickled one byte every few hundred milliseconds is cut off when
// its time runs out: the connection is closed instead of held. (Before the
// body deadline such a client held its connection for as long as it liked.)
// A body that arrives in time, then a handler that works, is unaffected.
func TestSlowBodyIsCutOff(t *testing.T) {
	h := apptest.Start(t, store.SQLite, func(c *app.Config) { c.HTTP.BodyTimeout = time.Second })
	addr := strings.TrimPrefix(h.App.URL, "http://")
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"email":"slow@example.com","code":"AAAA-BBBB-CCCC"}`
	fmt.Fprintf(conn, "POST /api/v1/redeem HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body))
	start := time.Now()
	type answer struct {
		resp *http.Response
		err  error
		at   time.Duration
	}
	answered := make(chan answer, 1)
	go func() {
		conn.SetReadDeadline(time.Now().Add(20 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		answered <- answer{resp, err, time.Since(start)}
	}()
	sent := 0
	var got answer
trickle:
	for sent < len(body) {
		select {
		case got = <-answered:
			break trickle
		case <-time.After(300 * time.Millisecond):
		}
		if _, err := conn.Write([]byte{body[sent]}); err != nil {
			got = <-answered
			break
		}
		sent++
	}
	if sent == len(body) {
		t.Fatalf("the whole body (%d bytes over %s) was accepted", sent, time.Since(start))
	}
	if got.err == nil {
		got.resp.Body.Close()
		if got.resp.StatusCode < 400 {
			t.Fatalf("a trickled body got %s", got.resp.Status)
		}
	}
	// The server answers (or closes) within its deadline, long before the
	// 16 s the whole body would take at this pace.
	if got.at > 5*time.Second {
		t.Fatalf("the connection was held %s for %d of %d bytes", got.at, sent, len(body))
	}
	t.Logf("cut off after %s and %d of %d bytes (answer %v)", got.at.Round(time.Millisecond), sent, len(body), got.err)

	// A normal request on the same server is answered.
	h.Do("GET", "/api/v1/pools", nil).MustStatus(t, 200)
}

// At most MaxConnections are served at once: the next waits until one
// closes, then is served.
func TestConnectionCap(t *testing.T) {
	h := apptest.Start(t, store.SQLite, func(c *app.Config) { c.HTTP.MaxConnections = 2 })
	addr := strings.TrimPrefix(h.App.URL, "http://")
	get := func(c net.Conn) error {
		fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		c.SetReadDeadline(time.Now().Add(700 * time.Millisecond))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	}
	var held []net.Conn
	for i := 0; i < 2; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := get(c); err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		held = append(held, c)
	}
	third, err := net.Dial("tcp", addr) // the kernel queues it
	if err != nil {
		t.Fatal(err)
	}
	defer third.Close()
	if err := get(third); err == nil {
		t.Fatal("a third connection was served while two were open")
	}
	held[0].Close()
	// The queued connection is accepted now; it already sent its request.
	third.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(third), nil)
	if err != nil {
		t.Fatalf("the queued connection was not served after one closed: %v", err)
	}
	resp.Body.Close()
}
