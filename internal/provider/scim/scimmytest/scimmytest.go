// Package scimmytest starts SCIMMY, a SCIM 2.0 server written by others
// (the npm packages scimmy and scimmy-routers on Express), on loopback for
// tests, and reads what it holds. The server is ../testdata/scimmy/server.mjs;
// its packages come from the lock file there (`npm ci`, which .ci/run does).
// Each Start runs a fresh server with an empty store and the groups
// "Engineering" and "Sales".
package scimmytest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/syncbuf"
)

// Token is the bearer token the server accepts unless SCIM_TOKEN says
// otherwise.
const Token = "test-token"

// Dir is the directory of server.mjs, package.json and package-lock.json.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata", "scimmy")
}

// Server is a running SCIMMY server.
type Server struct {
	// Base is the SCIM base URL, http://127.0.0.1:PORT/scim/v2.
	Base string
	root string
}

// Start starts a fresh server on 127.0.0.1 with the given environment
// settings (see server.mjs: "MAX_PAGE=10", "UNIQUE=0", "FAULT_5XX=0.3", …)
// and stops it when the test ends. It skips the test when node or the
// installed packages are missing.
func Start(t testing.TB, env ...string) *Server {
	t.Helper()
	scimmyDir := Dir()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: the SCIM tests need Node.js to run the SCIMMY server (.ci/run installs it)")
	}
	if _, err := os.Stat(filepath.Join(scimmyDir, "node_modules", "scimmy-routers")); err != nil {
		t.Skip("SCIMMY is not installed: run npm ci in internal/provider/scim/testdata/scimmy (.ci/run does)")
	}
	cmd := exec.Command(node, "server.mjs")
	cmd.Dir = scimmyDir
	cmd.Env = append(os.Environ(), env...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncbuf.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = stdin.Close() // the server exits when its stdin closes
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() && stderr.String() != "" {
			t.Logf("SCIMMY server's stderr:\n%s", stderr.String())
		}
	})

	ready := make(chan int, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var msg struct {
				Port int `json:"port"`
			}
			if json.Unmarshal(sc.Bytes(), &msg) == nil && msg.Port > 0 {
				ready <- msg.Port
				break
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case port := <-ready:
		root := fmt.Sprintf("http://127.0.0.1:%d", port)
		return &Server{Base: root + "/scim/v2", root: root}
	case <-done:
		t.Fatalf("SCIMMY server exited before listening:\n%s", stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("SCIMMY server did not print its port within 30s:\n%s", stderr.String())
	}
	return nil
}

// User is a user as the server keeps it.
type User struct {
	ID       string `json:"id"`
	UserName string `json:"userName"`
	Active   bool   `json:"active"`
	Emails   []struct {
		Value   string `json:"value"`
		Primary bool   `json:"primary"`
	} `json:"emails"`
}

// Group is a group as the server keeps it.
type Group struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	Members     []Ref  `json:"members"`
}

// Ref is a group member: Value is the user's id.
type Ref struct {
	Value string `json:"value"`
}

// Has reports whether the user with id is a member of g.
func (g Group) Has(id string) bool {
	for _, m := range g.Members {
		if m.Value == id {
			return true
		}
	}
	return false
}

// State returns everything the server holds, inactive users included,
// bypassing SCIM.
func (s *Server) State(t testing.TB) (users []User, groups []Group) {
	t.Helper()
	var st struct {
		Users  []User  `json:"users"`
		Groups []Group `json:"groups"`
	}
	s.testAPI(t, "GET", "/_test/state", nil, &st)
	return st.Users, st.Groups
}

// UsersNamed returns the server's users whose userName is name, ignoring
// case (any state).
func (s *Server) UsersNamed(t testing.TB, name string) []User {
	t.Helper()
	users, _ := s.State(t)
	var out []User
	for _, u := range users {
		if strings.EqualFold(u.UserName, name) {
			out = append(out, u)
		}
	}
	return out
}

// Group returns the server's group called name.
func (s *Server) Group(t testing.TB, name string) Group {
	t.Helper()
	_, groups := s.State(t)
	for _, g := range groups {
		if g.DisplayName == name {
			return g
		}
	}
	t.Fatalf("the server has no group %q", name)
	return Group{}
}

// Stats counts what the server saw and injected.
type Stats struct {
	Requests          int `json:"requests"`
	Injected429       int `json:"injected429"`
	Injected5xxBefore int `json:"injected5xxBefore"`
	Injected5xxAfter  int `json:"injected5xxAfter"`
	InjectedTimeouts  int `json:"injectedTimeouts"`
	UsersCreated      int `json:"usersCreated"`
}

// Stats returns the server's counters.
func (s *Server) Stats(t testing.TB) Stats {
	t.Helper()
	var st Stats
	s.testAPI(t, "GET", "/_test/stats", nil, &st)
	return st
}

// Faults sets the server's fault rates, from 0 to 1: the share of SCIM
// requests answered 503 (half before, half after applying them), applied
// and then left without an answer (a timeout), and answered 429 with
// Retry-After.
func (s *Server) Faults(t testing.TB, rate5xx, rateTimeout, rate429 float64) {
	t.Helper()
	s.testAPI(t, "POST", "/_test/faults", map[string]float64{
		"rate5xx": rate5xx, "rateTimeout": rateTimeout, "rate429": rate429,
	}, nil)
}

func (s *Server) testAPI(t testing.TB, method, path string, in, out any) {
	t.Helper()
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.root+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("%s %s: %s: %s", method, path, resp.Status, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, data)
		}
	}
}
