package cli

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"time"
)

// demoSeat is the part of a public seat status (or move answer) the demo
// prints.
type demoSeat struct {
	State       string `json:"state"`
	Pool        string `json:"pool"`
	Position    int    `json:"position"`
	RebindCount int    `json:"rebind_count"`
	RebindLimit int    `json:"rebind_limit"`
	FreeMove    bool   `json:"free_move"`
	Free        bool   `json:"free"`
	Message     string `json:"message"`
}

// playTeams is the demo's team part: two simulated teams, a batch of redeem
// codes, a user redeeming one, the user's team banned, and the user's
// free move off it, all through the API a user's page and an operator use.
func playTeams(ctx context.Context, c *client, out io.Writer) error {
	ids := map[string]int64{}
	for i, name := range []string{"team-a", "team-b"} {
		var p struct{ ID int64 }
		err := c.json(ctx, "POST", "/api/v1/pools", map[string]any{"name": name, "kind": "team", "capacity": 3, "priority": i,
			"provider": map[string]any{"type": "sim", "latency_ms": 30}}, &p)
		if err != nil {
			return err
		}
		ids[name] = p.ID
	}
	fmt.Fprintln(out, "\nteams: team-a, team-b — simulated teams, 3 seats each")

	var gen struct{ Codes []string }
	if err := c.json(ctx, "POST", "/api/v1/codes/batch", map[string]any{"count": 2, "max_uses": 1, "valid_for": "720h", "rebind_limit": 1}, &gen); err != nil {
		return err
	}
	if len(gen.Codes) == 0 {
		return fmt.Errorf("demo: no codes generated")
	}
	fmt.Fprintf(out, "\ncodes: %d generated (30 days from first use, 1 paid move each)\n", len(gen.Codes))
	for _, code := range gen.Codes {
		fmt.Fprintf(out, "  %s\n", code)
	}

	const email = "alice@example.com"
	code := gen.Codes[0]
	user := map[string]string{"email": email, "code": code}
	status := func() (demoSeat, error) {
		var s demoSeat
		err := c.json(ctx, "GET", "/api/v1/public/status?"+url.Values{"email": {email}, "code": {code}}.Encode(), nil, &s)
		return s, err
	}
	// waitActive waits (up to 20 s) for the seat to be active on a team
	// other than not.
	waitActive := func(not string) (demoSeat, error) {
		deadline := time.Now().Add(20 * time.Second)
		for {
			s, err := status()
			if err != nil || (s.State == "active" && s.Pool != not) || time.Now().After(deadline) {
				return s, err
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	var got demoSeat
	if err := c.json(ctx, "POST", "/api/v1/public/redeem", user, &got); err != nil {
		return err
	}
	fmt.Fprintf(out, "\n%s redeems %s → %s on %s\n", email, code, got.State, got.Pool)
	s, err := waitActive("")
	if err != nil {
		return err
	}
	first := s.Pool
	fmt.Fprintf(out, "  status: %s on %s, %d of %d paid moves used\n", s.State, s.Pool, s.RebindCount, s.RebindLimit)

	fmt.Fprintf(out, "\n%s → banned (the provider banned the team)\n", first)
	if err := c.json(ctx, "PATCH", "/api/v1/pools/status", map[string]any{"ids": []int64{ids[first]}, "status": "banned",
		"message": "the provider banned the team"}, nil); err != nil {
		return err
	}
	if s, err = status(); err != nil {
		return err
	}
	fmt.Fprintf(out, "  status: %s on %s, a move now is free: %v\n", s.State, s.Pool, s.FreeMove)

	var mv demoSeat
	if err := c.json(ctx, "POST", "/api/v1/public/rebind", user, &mv); err != nil {
		return err
	}
	fmt.Fprintf(out, "\n%s moves (free: %v) → %s on %s: %s\n", email, mv.Free, mv.State, mv.Pool, mv.Message)
	if s, err = waitActive(first); err != nil {
		return err
	}
	fmt.Fprintf(out, "  status: %s on %s, %d of %d paid moves used\n", s.State, s.Pool, s.RebindCount, s.RebindLimit)
	return nil
}
