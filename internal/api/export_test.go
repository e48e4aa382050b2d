package api

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/berthhq/berth/internal/httpx"
	"github.com/berthhq/berth/internal/syncbuf"
)

// A streamed CSV export that fails after its first chunk is on the wire
// cannot answer problem+json any more: the connection is cut, so the client
// sees a broken transfer, never a file that ends cleanly with rows
// missing. One that fails on its first chunk still answers problem+json.
func TestExportErrorAfterFirstChunkCutsTheAnswer(t *testing.T) {
	t.Parallel()
	var logged syncbuf.Buffer // written by the server's goroutines
	s := &Server{mux: http.NewServeMux(), log: slog.New(slog.NewTextHandler(&logged, nil))}
	var failAt atomic.Int64 // the read (1-based) that fails
	read := func(from int64, n int) ([]int64, error) {
		if from/int64(n)+1 == failAt.Load() {
			return nil, errors.New("database went away")
		}
		items := make([]int64, n) // whole chunks: there is always more
		for i := range items {
			items[i] = from + int64(i) + 1
		}
		return items, nil
	}
	rt := Route{Route: httpx.Route{Method: "GET", Path: "/export", Public: true}, handler: func(w http.ResponseWriter, r *http.Request) error {
		return writeCSV(w, "x.csv", []string{"id"}, keysetChunks(0, read, func(v int64) int64 { return v }),
			func(v int64) []string { return []string{strconv.FormatInt(v, 10)} })
	}}
	s.mux.Handle(rt.Pattern(), s.wrap(rt))
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)

	// Fails at the third chunk: two whole chunks were sent.
	failAt.Store(3)
	resp, err := http.Get(srv.URL + "/export")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("status %d, read error %v, want 200 and a cut transfer (%d bytes read)", resp.StatusCode, err, len(body))
	}
	if strings.Contains(string(body), "problem") || strings.Contains(string(body), "internal error") {
		t.Fatalf("a problem was written into the file: …%s", body[max(0, len(body)-300):])
	}
	if !strings.Contains(string(body), "\n"+strconv.Itoa(2*exportChunk)+"\n") {
		t.Fatalf("the first two chunks were not sent: %d bytes", len(body))
	}
	if !strings.Contains(logged.String(), "answer cut short") || !strings.Contains(logged.String(), "database went away") {
		t.Fatalf("the error is not logged: %s", logged.String())
	}

	// Fails at the first chunk: nothing sent yet, a problem+json.
	failAt.Store(1)
	resp, err = http.Get(srv.URL + "/export")
	if err != nil {
		t.Fatal(err)
	}
	body, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 500 || resp.Header.Get("Content-Type") != "application/problem+json" ||
		resp.Header.Get("Content-Disposition") != "" {
		t.Fatalf("status %d, %v, headers %v: %s", resp.StatusCode, err, resp.Header, body)
	}
}
