package reqid

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

func TestHandlerAddsTheContextsID(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(Handler(slog.NewTextHandler(&buf, nil))).With("svc", "x")
	ctx := With(context.Background(), "abc123")

	log.InfoContext(ctx, "deep in a call", "seat", 7)
	log.InfoContext(ctx, "explicit", "request_id", "given")
	log.Info("no context")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("lines: %q", lines)
	}
	if !strings.Contains(lines[0], "request_id=abc123") || !strings.Contains(lines[0], "svc=x") {
		t.Errorf("id not added: %s", lines[0])
	}
	if strings.Count(lines[1], "request_id=") != 1 || !strings.Contains(lines[1], "request_id=given") {
		t.Errorf("explicit id doubled or replaced: %s", lines[1])
	}
	if strings.Contains(lines[2], "request_id") {
		t.Errorf("id without a context: %s", lines[2])
	}
}

func TestFromClientRefusesForgery(t *testing.T) {
	for in, keep := range map[string]bool{
		"abc-123_x.y":             true,
		"":                        false,
		"a b":                     false,
		"x\nlevel=ERROR msg=fake": false,
		strings.Repeat("a", 65):   false,
		strings.Repeat("a", 64):   true,
	} {
		got := FromClient(in)
		if (got == in) != keep || got == "" {
			t.Errorf("FromClient(%q) = %q, keep %v", in, got, keep)
		}
	}
}
