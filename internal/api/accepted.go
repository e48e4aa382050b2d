package api

// 202 answers say where to follow the work they started.

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"

	"github.com/berthhq/berth/internal/model"
)

// writeAccepted answers 202 with v, a JSON object, plus "follow": the GET
// that shows the work's progress, also given as the Location header.
func writeAccepted(w http.ResponseWriter, follow string, v any) {
	b, err := json.Marshal(v)
	if err != nil || len(b) < 2 || b[0] != '{' {
		w.Header().Set("Location", follow)
		writeJSON(w, http.StatusAccepted, v)
		return
	}
	tail := []byte(`"follow":` + strconv.Quote(follow) + `}`)
	if len(b) > 2 {
		tail = append([]byte{','}, tail...)
	}
	b = append(b[:len(b)-1], tail...)
	var out bytes.Buffer
	json.Indent(&out, b, "", "  ")
	out.WriteByte('\n')
	w.Header().Set("Location", follow)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	w.Write(out.Bytes())
}

// movesFollow is where drains and migrations are followed: the moves,
// newest first.
const movesFollow = "/api/v1/moves"

// seatFollow is where a seat's release or move is followed: the seats of
// its member (GET /api/v1/seats?member= for servers, ?email= for teams).
func (s *Server) seatFollow(ctx context.Context, seat model.Seat) string {
	param := "member"
	if p, err := s.rd.PoolGet(ctx, seat.PoolID); err == nil && p.Kind == model.KindTeam {
		param = "email"
	}
	return "/api/v1/seats?" + param + "=" + url.QueryEscape(seat.Member)
}
