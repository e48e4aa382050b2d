package scim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/provider"
	"github.com/berthhq/berth/internal/provider/providertest"
)

// Fuzz tests of everything the provider reads from a SCIM server: list
// answers, users, the ServiceProviderConfig, error bodies, Retry-After and
// the classification of status codes. Each runs the provider's real methods
// against a loopback server that answers with the fuzzed status, headers and
// body, so the parsing is exercised as it is in production. No node, no
// network beyond loopback.

// fuzzToken is the bearer token of every fuzzed provider: no error may
// contain it.
const fuzzToken = "tok-FUZZ-7f3a9c1e-never-in-errors"

// echoAuth stands, in a fuzzed answer, for the request's Authorization
// header ("Bearer <token>"): the server reflects it, as a debugging proxy or
// a careless error page does.
const echoAuth = "{{auth}}"

// fuzzTimeout bounds each request of a fuzzed provider. The fuzz servers
// answer at once; the timeout only keeps a stuck case from stalling the
// fuzzer.
const fuzzTimeout = 200 * time.Millisecond

// maxErrLen bounds an error string: whatever the server sends, what berth
// stores and shows of it is clipped.
const maxErrLen = 4096

// fuzzRunaway is how many requests for one method and path a case may make
// before the server stops cooperating (answers 500), so that a client that
// pages without end fails the case instead of stalling it.
const fuzzRunaway = 50

// answer is one fuzzed HTTP answer.
type answer struct {
	status     int
	retryAfter string
	location   string
	body       []byte
}

func (a answer) write(w http.ResponseWriter, r *http.Request) {
	auth := r.Header.Get("Authorization")
	if v := providertest.HeaderValue(strings.ReplaceAll(a.retryAfter, echoAuth, auth)); v != "" {
		w.Header().Set("Retry-After", v)
	}
	if v := providertest.HeaderValue(strings.ReplaceAll(a.location, echoAuth, auth)); v != "" {
		w.Header().Set("Location", v)
	}
	w.Header().Set("Content-Type", mediaType)
	w.WriteHeader(a.status)
	_, _ = w.Write(bytes.ReplaceAll(a.body, []byte(echoAuth), []byte(auth)))
}

// received is the body as the client gets it.
func (a answer) received() []byte {
	if a.status == http.StatusNoContent || a.status == http.StatusNotModified {
		return nil
	}
	return bytes.ReplaceAll(a.body, []byte(echoAuth), []byte("Bearer "+fuzzToken))
}

// is2xx reports whether the answer is a success.
func (a answer) is2xx() bool { return a.status >= 200 && a.status <= 299 }

// fuzzServer is a loopback SCIM server created once per Fuzz function; each
// case installs its handler and the server counts the requests it gets.
type fuzzServer struct {
	*httptest.Server
	mu     sync.Mutex
	handle http.HandlerFunc
	counts map[string]int // "GET /Users" → requests in this case
	other  []string       // requests the case's handler did not expect
}

func newFuzzServer(f *testing.F) *fuzzServer {
	fs := &fuzzServer{counts: map[string]int{}}
	fs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Method + " " + strings.TrimPrefix(r.URL.Path, "/scim/v2")
		fs.mu.Lock()
		h := fs.handle
		fs.counts[key]++
		n := fs.counts[key]
		fs.mu.Unlock()
		if n > fuzzRunaway {
			http.Error(w, "runaway client", http.StatusInternalServerError)
			return
		}
		h(w, r)
	}))
	f.Cleanup(fs.Close)
	return fs
}

// start installs the handler of a new case and returns a fresh provider for
// it (the group is configured when not empty), with nothing cached.
func (fs *fuzzServer) start(t *testing.T, group string, h http.HandlerFunc) *Provider {
	t.Helper()
	fs.mu.Lock()
	fs.handle, fs.counts, fs.other = h, map[string]int{}, nil
	fs.mu.Unlock()
	p, err := New(Config{BaseURL: fs.URL + "/scim/v2", Token: fuzzToken, Group: group, Timeout: fuzzTimeout, Egress: loopback})
	if err != nil {
		t.Fatal(err)
	}
	cacheDrop(p.featKey)
	cacheDrop(p.groupKey)
	return p
}

func (fs *fuzzServer) count(key string) int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.counts[key]
}

// unexpected records a request the case did not expect, and answers 404.
func (fs *fuzzServer) unexpected(w http.ResponseWriter, r *http.Request) {
	fs.mu.Lock()
	fs.other = append(fs.other, r.Method+" "+r.URL.String())
	fs.mu.Unlock()
	http.NotFound(w, r)
}

func (fs *fuzzServer) unexpectedRequests() []string {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return slices.Clone(fs.other)
}

// wantClass is the class the package documents for a non-2xx status: other
// for the statuses that are about the request itself.
func wantClass(status int, other provider.Class) provider.Class {
	switch s := status; {
	case s == 401 || s == 403:
		return provider.PoolPermanent
	case s == 429 || s == 408:
		return provider.Retryable
	case s == 501:
		return provider.PoolPermanent
	case s >= 500:
		return provider.Retryable
	case s >= 300 && s < 400:
		return provider.PoolPermanent
	}
	return other
}

// timedOut reports whether err is a request that timed out: only a loaded
// machine gets there (the fuzz servers answer at once), and such a case
// says nothing about parsing.
func timedOut(t *testing.T, err error) bool {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), "timed out after") {
		return false
	}
	if c := provider.Classify(err); c != provider.Retryable {
		t.Fatalf("a timeout is %v, want retryable: %v", c, err)
	}
	return true
}

// badLocation reports whether err is Go's client refusing the Location of
// a redirect it cannot parse: a retryable transport error, before the
// provider sees the answer.
func badLocation(status int, err error) bool {
	return status >= 300 && status < 400 && err != nil && provider.Classify(err) == provider.Retryable &&
		strings.Contains(err.Error(), "failed to parse Location header")
}

// checkError checks what every error of the provider must be: classified,
// without the token, of bounded length.
func checkError(t *testing.T, err error) *provider.Error {
	t.Helper()
	var pe *provider.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *provider.Error", err, err)
	}
	msg := err.Error()
	if strings.Contains(msg, fuzzToken) {
		t.Fatalf("the error contains the bearer token: %q", msg)
	}
	if len(msg) > maxErrLen {
		t.Fatalf("the error is %d bytes long: %.200q…", len(msg), msg)
	}
	return pe
}

// checkRetryAfter checks that got is what Retry-After v said between the
// times before and after the request (an HTTP date counts down).
func checkRetryAfter(t *testing.T, got time.Duration, v string, before, after time.Time) {
	t.Helper()
	lo, hi := provider.RetryAfter(v, after), provider.RetryAfter(v, before)
	if got < lo || got > hi {
		t.Fatalf("RetryAfter = %v, want %v…%v from %q", got, lo, hi, v)
	}
}

// decodes reports whether a 2xx body is one the provider accepts: empty, or
// JSON that decodes into v.
func decodes(body []byte, v any) bool {
	return len(bytes.TrimSpace(body)) == 0 || json.Unmarshal(body, v) == nil
}

// FuzzRetryAfter: any Retry-After value gives a wait between 0 and a day;
// a number of seconds and an HTTP date both say what they mean.
func FuzzRetryAfter(f *testing.F) {
	for _, v := range []string{"", "0", "-3", "7", " 120 ", "999999", "soon", "1.5", "+5", "0x10",
		"Thu, 01 Jan 2026 00:01:30 GMT", "Wed, 31 Dec 2025 23:00:00 GMT", "Thursday, 01-Jan-26 00:01:30 GMT",
		"Thu Jan  1 00:01:30 2026", "9223372036854775807", "-9223372036854775808", "99999999999999999999"} {
		f.Add(v, int64(1_767_225_600), int64(90))
	}
	f.Fuzz(func(t *testing.T, v string, nowUnix, secs int64) {
		now := time.Unix(nowUnix%(1<<37), 0) // within years 0…6325: HTTP dates can say it
		if now.Year() < 1 {
			now = time.Unix(1_767_225_600, 0)
		}
		d := provider.RetryAfter(v, now)
		if d < 0 || d > 24*time.Hour {
			t.Fatalf("RetryAfter(%q) = %v", v, d)
		}
		if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
			if want := time.Duration(min(max(n, 0), 86400)) * time.Second; d != want {
				t.Fatalf("RetryAfter(%q) = %v, want %v", v, d, want)
			}
		}
		want := time.Duration(min(max(secs, 0), 86400)) * time.Second
		if got := provider.RetryAfter(strconv.FormatInt(secs, 10), now); got != want {
			t.Fatalf("RetryAfter(%d) = %v, want %v", secs, got, want)
		}
		secs %= 1 << 32 // about 136 years either way
		date := now.Add(time.Duration(secs) * time.Second).UTC()
		if date.Year() < 1 || date.Year() > 9999 {
			return
		}
		want = time.Duration(min(max(secs, 0), 86400)) * time.Second
		if got := provider.RetryAfter(date.Format(http.TimeFormat), now); got != want {
			t.Fatalf("RetryAfter(%q) at %v = %v, want %v", date.Format(http.TimeFormat), now, got, want)
		}
	})
}

// FuzzSCIMAnswer: whatever status, Retry-After, Location and body a server
// answers a request with, call returns the decoded 2xx answer, a retryable
// error for a 2xx that is not SCIM JSON, or the non-2xx answer with its
// status, Retry-After and SCIM error; classify gives the class the package
// documents; the token never shows.
func FuzzSCIMAnswer(f *testing.F) {
	fs := newFuzzServer(f)
	for _, s := range []struct {
		status     int
		retryAfter string
		location   string
		body       string
	}{
		{200, "", "", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":2,"startIndex":1,"itemsPerPage":2,` +
			`"Resources":[{"id":"u1","userName":"ada@example.com","active":true},{"id":"u2","userName":"bob@example.com","active":false}]}`},
		{200, "", "", `{"totalResults":0,"Resources":[]}`},
		{200, "", "", ``},
		{200, "", "", `null`},
		{200, "", "", `[]`},
		{200, "", "", `<html><body>Sign in</body></html>`},
		{200, "", "", `{"totalResults":"1","Resources":{}}`},
		{204, "", "", ``},
		{400, "", "", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"400","scimType":"invalidFilter","detail":"bad filter"}`},
		{401, "", "", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"401","detail":"token ` + echoAuth + ` is not valid"}`},
		{403, "", "", `Forbidden for ` + echoAuth},
		{404, "", "", `{"detail":"Resource not found"}`},
		{409, "", "", `{"scimType":"uniqueness","detail":"userName taken"}`},
		{429, "12", "", `{"detail":"slow down"}`},
		{429, "Thu, 01 Jan 2099 00:00:00 GMT", "", ``},
		{503, "5", "", `<html>Service Unavailable</html>`},
		{500, "-1", "", "\x00\xff\xfe"},
		{501, "", "", `{"scimType":"","detail":"PATCH not implemented"}`},
		{302, "", "https://elsewhere.example/scim/v2", ``},
		{307, "", "https://proxy.example/login?auth=" + echoAuth, ``},
		{301, "", "://bad location", ``},
		{308, "", "://" + strings.Repeat("very/long/", 300) + echoAuth, ``},
		{400, "", "", `{"scimType":"` + strings.Repeat("x", 5000) + `","detail":"long"}`},
		{418, echoAuth, "", `{"detail":` + strconv.Quote(strings.Repeat("very long detail ", 40)) + `}`},
		{200, "", "", `{"totalResults":1` + strings.Repeat("0", 5000) + `}`},
	} {
		f.Add(s.status, s.retryAfter, s.location, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, status int, retryAfter, location string, body []byte) {
		a := answer{providertest.FoldStatus(status), retryAfter, location, body}
		p := fs.start(t, "", a.write)
		q := url.Values{"startIndex": {"1"}, "count": {"100"}, "attributes": {"userName,active"}}
		var lr listResponse[user]
		before := time.Now()
		err := p.call(context.Background(), "GET", "/Users", q, nil, &lr)
		after := time.Now()
		if timedOut(t, err) {
			return
		}
		got := a.received()
		var he *httpError
		switch {
		case a.is2xx():
			var want listResponse[user]
			if decodes(got, &want) {
				if err != nil {
					t.Fatalf("HTTP %d %q: %v, want the answer", a.status, got, err)
				}
				if !reflect.DeepEqual(lr, want) {
					t.Fatalf("HTTP %d %q: decoded %+v, want %+v", a.status, got, lr, want)
				}
				return
			}
			if pe := checkError(t, err); pe.Class != provider.Retryable || !strings.Contains(err.Error(), "not SCIM JSON") {
				t.Fatalf("HTTP %d %q: %v, want a retryable error saying the answer is not SCIM JSON", a.status, got, err)
			}
		case errors.As(err, &he):
			if he.Status != a.status {
				t.Fatalf("status %d, want %d", he.Status, a.status)
			}
			checkRetryAfter(t, he.RetryAfter, providertest.HeaderValue(strings.ReplaceAll(retryAfter, echoAuth, "Bearer "+fuzzToken)), before, after)
			if a.status < 300 || a.status > 399 {
				if he.Location != "" {
					t.Fatalf("HTTP %d has Location %q", a.status, he.Location)
				}
			}
			var se scimError
			if !bytes.Contains(got, []byte(fuzzToken)) {
				if json.Unmarshal(got, &se) == nil {
					if want := provider.Summary(se.Detail, maxDetail); he.Detail != want {
						t.Fatalf("detail %q, want %q", he.Detail, want)
					}
				} else if he.Detail != "" {
					t.Fatalf("detail %q of an answer that is not a SCIM error, want none (never the body)", he.Detail)
				}
			}
			if len(he.Detail) > maxDetail+len("…") {
				t.Fatalf("detail is %d bytes long", len(he.Detail))
			}
			if msg := he.Error(); strings.Contains(msg, fuzzToken) {
				t.Fatalf("the answer's error contains the bearer token: %q", msg)
			}
		case badLocation(a.status, err):
			checkError(t, err)
			return
		default:
			t.Fatalf("HTTP %d: %v (%T), want the answer as *httpError", a.status, err, err)
		}
		for _, other := range []provider.Class{provider.MemberPermanent, provider.PoolPermanent} {
			ce := p.classify("find user ada@example.com", err, other)
			pe := checkError(t, ce)
			want := provider.Retryable // a 2xx that is not SCIM JSON
			if he != nil {
				want = wantClass(he.Status, other)
				if pe.RetryAfter != he.RetryAfter {
					t.Fatalf("classify dropped RetryAfter %v: %v", he.RetryAfter, pe.RetryAfter)
				}
			}
			if pe.Class != want {
				t.Fatalf("HTTP %d (other %v): class %v, want %v: %v", a.status, other, pe.Class, want, ce)
			}
			if provider.Classify(ce) != pe.Class {
				t.Fatalf("provider.Classify disagrees: %v", ce)
			}
		}
	})
}

// FuzzSCIMCheck: the health check reads the ServiceProviderConfig and one
// page of users, whatever they are: it fails exactly when one of them is a
// non-2xx other than a missing ServiceProviderConfig, or not SCIM JSON, with
// the documented class; the features it remembers are the ones the server
// stated.
func FuzzSCIMCheck(f *testing.F) {
	fs := newFuzzServer(f)
	const okUsers = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":1,"startIndex":1,"itemsPerPage":1,"Resources":[{"id":"u1","userName":"ada@example.com"}]}`
	for _, s := range []struct {
		status     int
		retryAfter string
		spc        string
		users      int
		body       string
	}{
		{200, "", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],"patch":{"supported":true},` +
			`"bulk":{"supported":false,"maxOperations":0,"maxPayloadSize":0},"filter":{"supported":true,"maxResults":200},` +
			`"changePassword":{"supported":false},"sort":{"supported":false},"etag":{"supported":false},` +
			`"authenticationSchemes":[{"type":"oauthbearertoken","name":"OAuth Bearer Token","primary":true}]}`, 200, okUsers},
		{200, "", `{"patch":{"supported":false},"filter":{"supported":false,"maxResults":-5}}`, 200, okUsers},
		{200, "", `{"patch":{"supported":"yes"}}`, 200, okUsers},
		{200, "", `{"filter":{"maxResults":1e99}}`, 200, okUsers},
		{200, "", ``, 200, `{}`},
		{404, "", `{"detail":"no such endpoint"}`, 200, okUsers},
		{401, "", `{"detail":"invalid token ` + echoAuth + `"}`, 200, okUsers},
		{429, "30", ``, 200, okUsers},
		{503, "Thu, 01 Jan 2099 00:00:00 GMT", `down`, 200, okUsers},
		{200, "", `{"patch":{"supported":true},"filter":{"supported":true}}`, 403, `{"detail":"Forbidden"}`},
		{200, "", `{"patch":{"supported":true},"filter":{"supported":true}}`, 404, `Not Found`},
		{200, "", `{"patch":{"supported":true},"filter":{"supported":true}}`, 200, `<html>login</html>`},
		{200, "", `{"patch":{"supported":true},"filter":{"supported":true}}`, 200, `{"totalResults":1,"Resources":[{"id":1}]}`},
	} {
		f.Add(s.status, s.retryAfter, []byte(s.spc), s.users, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, spcStatus int, retryAfter string, spcBody []byte, usersStatus int, usersBody []byte) {
		spcA := answer{status: providertest.FoldStatus(spcStatus), retryAfter: retryAfter, body: spcBody}
		usersA := answer{status: providertest.FoldStatus(usersStatus), body: usersBody}
		p := fs.start(t, "", func(w http.ResponseWriter, r *http.Request) {
			switch {
			case r.Method == "GET" && r.URL.Path == "/scim/v2/ServiceProviderConfig":
				spcA.write(w, r)
			case r.Method == "GET" && r.URL.Path == "/scim/v2/Users":
				usersA.write(w, r)
			default:
				fs.unexpected(w, r)
			}
		})
		before := time.Now()
		err := p.Check(context.Background())
		after := time.Now()
		if timedOut(t, err) {
			return
		}
		if u := fs.unexpectedRequests(); len(u) > 0 {
			t.Fatalf("Check sent %q", u)
		}
		if n := fs.count("GET /ServiceProviderConfig"); n != 1 {
			t.Fatalf("Check read the ServiceProviderConfig %d times, want once", n)
		}
		var (
			want     Features
			spc      serviceProviderConfig
			wantFail = true
		)
		switch {
		case spcA.status == 404:
			want = Features{Patch: true, Filter: true}
		case badLocation(spcA.status, err):
			checkError(t, err)
		case !spcA.is2xx():
			pe := checkError(t, err)
			if c := wantClass(spcA.status, provider.PoolPermanent); pe.Class != c {
				t.Fatalf("ServiceProviderConfig HTTP %d: class %v, want %v: %v", spcA.status, pe.Class, c, err)
			}
			checkRetryAfter(t, pe.RetryAfter, providertest.HeaderValue(strings.ReplaceAll(retryAfter, echoAuth, "Bearer "+fuzzToken)), before, after)
		case !decodes(spcA.received(), &spc):
			if pe := checkError(t, err); pe.Class != provider.Retryable {
				t.Fatalf("ServiceProviderConfig %q: %v, want retryable", spcA.received(), err)
			}
		default:
			want = Features{Patch: spc.Patch.Supported, Filter: spc.Filter.Supported, MaxResults: spc.Filter.MaxResults}
			wantFail = false
		}
		if spcA.status == 404 {
			wantFail = false
		}
		if wantFail {
			if err == nil {
				t.Fatalf("Check passed with ServiceProviderConfig HTTP %d %q", spcA.status, spcA.received())
			}
			if n := fs.count("GET /Users"); n != 0 {
				t.Fatalf("Check went on to /Users after the ServiceProviderConfig failed")
			}
			return
		}
		if f, ok := cacheGet(p.featKey); !ok || f.(Features) != want {
			t.Fatalf("remembered features %+v (%v), want %+v from %q", f, ok, want, spcA.received())
		}
		if n := fs.count("GET /Users"); n != 1 {
			t.Fatalf("Check made %d requests for users, want 1", n)
		}
		var lr listResponse[user]
		switch {
		case badLocation(usersA.status, err):
			checkError(t, err)
		case !usersA.is2xx():
			pe := checkError(t, err)
			if c := wantClass(usersA.status, provider.PoolPermanent); pe.Class != c {
				t.Fatalf("users HTTP %d: class %v, want %v: %v", usersA.status, pe.Class, c, err)
			}
		case !decodes(usersA.received(), &lr):
			if pe := checkError(t, err); pe.Class != provider.Retryable {
				t.Fatalf("users %q: %v, want retryable", usersA.received(), err)
			}
		case err != nil:
			t.Fatalf("Check with ServiceProviderConfig %q and users %q: %v", spcA.received(), usersA.received(), err)
		}
	})
}

// FuzzSCIMList: whatever ServiceProviderConfig, list answers (even ones that
// lie about totalResults and startIndex) and group members a server sends,
// List makes a bounded number of read-only requests and returns either a
// classified error or a sorted, duplicate-free list of userNames of active
// users the server listed, each with an id and a userName (and in the group
// when one is configured), leaving out none of them.
func FuzzSCIMList(f *testing.F) {
	fs := newFuzzServer(f)
	const spcOK = `{"patch":{"supported":true},"filter":{"supported":true,"maxResults":100}}`
	for _, s := range []struct {
		spc     string
		status  int
		retry   string
		users   string
		group   bool
		members string
	}{
		{spcOK, 200, "", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":3,"startIndex":1,"itemsPerPage":3,"Resources":[` +
			`{"id":"u1","userName":"ada@example.com","active":true},{"id":"u2","userName":"bob@example.com","active":false},{"id":"u3","userName":"cy@example.com"}]}`,
			false, ``},
		{spcOK, 200, "", `{"totalResults":3,"Resources":[{"id":"u1","userName":"ada@example.com"},{"id":"u2","userName":"bob@example.com"},{"id":"u3","userName":"cy@example.com"}]}`,
			true, `{"id":"g1","displayName":"Engineering","members":[{"value":"u1"},{"value":"u3"},{"value":"u9"}]}`},
		// Liars: more results than ever come, no total, a startIndex that
		// never moves, the same user twice, users without id or userName.
		{spcOK, 200, "", `{"totalResults":1000000,"startIndex":1,"itemsPerPage":1,"Resources":[{"id":"u1","userName":"ada@example.com"}]}`, false, ``},
		{spcOK, 200, "", `{"Resources":[{"id":"u1","userName":"ada@example.com"},{"id":"u2","userName":"bob@example.com"}]}`, false, ``},
		{spcOK, 200, "", `{"totalResults":-1,"startIndex":-5,"Resources":[{"id":"u1","userName":"ada@example.com"}]}`, false, ``},
		{spcOK, 200, "", `{"totalResults":2,"Resources":[{"id":"u1","userName":"ada@example.com"},{"id":"u1","userName":"ADA@example.com"}]}`, false, ``},
		{spcOK, 200, "", `{"totalResults":3,"Resources":[{"userName":"ghost@example.com"},{"id":"u2"},{"id":"","userName":""}]}`, false, ``},
		{spcOK, 200, "", `{"totalResults":1,"Resources":[{"id":"u1","userName":"ada@example.com","active":"false"}]}`, false, ``},
		{spcOK, 200, "", `{"totalResults":0,"Resources":null}`, false, ``},
		{spcOK, 200, "", ``, false, ``},
		{spcOK, 200, "", `{"totalResults":1,"Resources":[{"id":"u1","userName":"ada@example.com"}]}`, true, `{"id":"g1","members":null}`},
		{spcOK, 200, "", `{"totalResults":1,"Resources":[{"id":"u1","userName":"ada@example.com"}]}`, true, `{"members":[{"value":1}]}`},
		{spcOK, 401, "", `{"detail":"bad token ` + echoAuth + `"}`, false, ``},
		{spcOK, 429, "7", `{"detail":"rate limited"}`, false, ``},
		{spcOK, 500, "", `<html>oops</html>`, true, `{}`},
		{`{"filter":{"supported":false,"maxResults":1}}`, 200, "", `{"totalResults":5,"itemsPerPage":1,"Resources":[{"id":"u1","userName":"ada@example.com"}]}`, true,
			`{"id":"g1","members":[{"value":"u1"}]}`},
		{`not json`, 200, "", `{"totalResults":0}`, false, ``},
	} {
		f.Add([]byte(s.spc), s.status, s.retry, []byte(s.users), s.group, []byte(s.members))
	}
	const groupList = `{"totalResults":1,"startIndex":1,"Resources":[{"id":"g1","displayName":"Engineering"}]}`
	f.Fuzz(func(t *testing.T, spcBody []byte, status int, retryAfter string, usersBody []byte, inGroup bool, membersBody []byte) {
		spcA := answer{status: 200, body: spcBody}
		usersA := answer{status: providertest.FoldStatus(status), retryAfter: retryAfter, body: usersBody}
		membersA := answer{status: 200, body: membersBody}
		groupName := ""
		if inGroup {
			groupName = "Engineering"
		}
		p := fs.start(t, groupName, func(w http.ResponseWriter, r *http.Request) {
			switch {
			case r.Method != "GET":
				fs.unexpected(w, r)
			case r.URL.Path == "/scim/v2/ServiceProviderConfig":
				spcA.write(w, r)
			case r.URL.Path == "/scim/v2/Users":
				usersA.write(w, r)
			case inGroup && r.URL.Path == "/scim/v2/Groups":
				answer{status: 200, body: []byte(groupList)}.write(w, r)
			case inGroup && r.URL.Path == "/scim/v2/Groups/g1":
				membersA.write(w, r)
			default:
				fs.unexpected(w, r)
			}
		})
		before := time.Now()
		names, err := p.List(context.Background())
		after := time.Now()
		if timedOut(t, err) {
			return
		}
		if u := fs.unexpectedRequests(); len(u) > 0 {
			t.Fatalf("List sent %q", u)
		}
		// The server gives the same answer to every page: a List that
		// trusts totalResults or startIndex would ask again and again.
		for _, key := range []string{"GET /Users", "GET /Groups", "GET /Groups/g1", "GET /ServiceProviderConfig"} {
			if n := fs.count(key); n > 2 {
				t.Fatalf("List made %d requests %s for one constant answer", n, key)
			}
		}
		var (
			spc     serviceProviderConfig
			lr      listResponse[user]
			members group
		)
		switch {
		case !decodes(spcA.received(), &spc):
			if pe := checkError(t, err); pe.Class != provider.Retryable {
				t.Fatalf("ServiceProviderConfig %q: %v, want retryable", spcA.received(), err)
			}
			return
		case inGroup && !decodes(membersA.received(), &members):
			if pe := checkError(t, err); pe.Class != provider.Retryable {
				t.Fatalf("group %q: %v, want retryable", membersA.received(), err)
			}
			return
		case badLocation(usersA.status, err):
			checkError(t, err)
			return
		case !usersA.is2xx():
			pe := checkError(t, err)
			if c := wantClass(usersA.status, provider.PoolPermanent); pe.Class != c {
				t.Fatalf("users HTTP %d: class %v, want %v: %v", usersA.status, pe.Class, c, err)
			}
			checkRetryAfter(t, pe.RetryAfter, providertest.HeaderValue(strings.ReplaceAll(retryAfter, echoAuth, "Bearer "+fuzzToken)), before, after)
			return
		case !decodes(usersA.received(), &lr):
			if pe := checkError(t, err); pe.Class != provider.Retryable {
				t.Fatalf("users %q: %v, want retryable", usersA.received(), err)
			}
			return
		case err != nil:
			checkError(t, err)
			t.Fatalf("List of a valid answer %q: %v", usersA.received(), err)
		}
		inG := map[string]bool{}
		for _, m := range members.Members {
			inG[m.Value] = true
		}
		eligible := map[string][]string{} // id → the userNames it was listed with
		for _, u := range lr.Resources {
			if u.active() && u.ID != "" && u.UserName != "" && (!inGroup || inG[u.ID]) {
				eligible[u.ID] = append(eligible[u.ID], u.UserName)
			}
		}
		if !slices.IsSorted(names) || len(slices.Compact(slices.Clone(names))) != len(names) {
			t.Fatalf("List = %q: not sorted and unique", names)
		}
		for _, n := range names {
			ok := false
			for _, ns := range eligible {
				ok = ok || slices.Contains(ns, n)
			}
			if !ok {
				t.Fatalf("List = %q: %q is not an active user with an id and a userName%s in %q", names, n,
					map[bool]string{true: " in the group", false: ""}[inGroup], usersA.received())
			}
		}
		for id, ns := range eligible {
			if !slices.ContainsFunc(ns, func(n string) bool { return slices.Contains(names, n) }) {
				t.Fatalf("List = %q leaves out user %q (%q)", names, id, ns)
			}
		}
	})
}

// FuzzSCIMPut: whatever the lookup (GET /Users?filter=…, or the pages of
// all users) and the create (POST /Users) are answered with, Put sends a
// bounded number of requests, creates at most once and only when the
// lookup found no such user, fails with the documented class on the first
// failed answer, and succeeds only with a user id it got from the server.
func FuzzSCIMPut(f *testing.F) {
	fs := newFuzzServer(f)
	const userOK = `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"2819c223","userName":"ada@example.com","active":true,` +
		`"emails":[{"value":"ada@example.com","type":"work","primary":true}],"meta":{"resourceType":"User","location":"https://example.com/v2/Users/2819c223"}}`
	for _, s := range []struct {
		filter bool
		ls     int
		lookup string
		cs     int
		create string
	}{
		{true, 200, `{"totalResults":0,"Resources":[]}`, 201, userOK},
		{true, 200, `{"totalResults":1,"Resources":[{"id":"u1","userName":"ada@example.com","active":true}]}`, 201, userOK},
		{true, 200, `{"totalResults":1,"Resources":[{"id":"u1","userName":"ADA@example.com","active":false}]}`, 201, userOK},
		{true, 200, `{"totalResults":2,"Resources":[{"id":"u1","userName":"Ada@Example.com","active":false},{"id":"u2","userName":"ada@example.com"}]}`, 201, userOK},
		{true, 200, `{"totalResults":1,"Resources":[{"userName":"ada@example.com"}]}`, 201, `{"userName":"ada@example.com"}`},
		{true, 200, `{"totalResults":1,"Resources":[{"id":"u9","userName":"eve@example.com"}]}`, 409, `{"scimType":"uniqueness","detail":"userName exists"}`},
		{true, 200, `{"totalResults":0}`, 201, ``},
		{true, 200, `{"totalResults":0}`, 201, `not json`},
		{true, 200, `{"totalResults":0}`, 400, `{"scimType":"invalidValue","detail":"bad email"}`},
		{true, 200, `{"totalResults":0}`, 401, `{"detail":"` + echoAuth + `"}`},
		{true, 200, `{"totalResults":0}`, 503, ``},
		{true, 400, `{"scimType":"invalidFilter"}`, 201, userOK},
		{true, 404, `not found`, 201, userOK},
		{true, 403, `{"detail":"forbidden"}`, 201, userOK},
		{true, 200, `[{"id":"u1"}]`, 201, userOK},
		{false, 200, `{"totalResults":100000,"Resources":[{"id":"u1","userName":"bob@example.com"}]}`, 201, userOK},
		{false, 200, `{"Resources":[{"id":"u1","userName":"ada@example.com","active":false}]}`, 201, userOK},
		{false, 429, `{"detail":"slow down"}`, 201, userOK},
	} {
		f.Add(s.filter, s.ls, []byte(s.lookup), s.cs, []byte(s.create))
	}
	const name = "ada@example.com"
	f.Fuzz(func(t *testing.T, filter bool, lookupStatus int, lookupBody []byte, createStatus int, createBody []byte) {
		spc := []byte(`{"patch":{"supported":true},"filter":{"supported":` + strconv.FormatBool(filter) + `}}`)
		lookupA := answer{status: providertest.FoldStatus(lookupStatus), body: lookupBody}
		createA := answer{status: providertest.FoldStatus(createStatus), body: createBody}
		var (
			mu      sync.Mutex
			patched []string
		)
		p := fs.start(t, "", func(w http.ResponseWriter, r *http.Request) {
			switch {
			case r.Method == "GET" && r.URL.Path == "/scim/v2/ServiceProviderConfig":
				answer{status: 200, body: spc}.write(w, r)
			case r.Method == "GET" && r.URL.Path == "/scim/v2/Users":
				if got := r.URL.Query().Get("filter"); filter && got != `userName eq "ada@example.com"` {
					fs.unexpected(w, r)
					return
				}
				lookupA.write(w, r)
			case r.Method == "POST" && r.URL.Path == "/scim/v2/Users":
				createA.write(w, r)
			case r.Method == "PATCH" && strings.HasPrefix(r.URL.Path, "/scim/v2/Users/"):
				mu.Lock()
				patched = append(patched, strings.TrimPrefix(r.URL.Path, "/scim/v2/Users/"))
				mu.Unlock()
				w.WriteHeader(http.StatusNoContent)
			default:
				fs.unexpected(w, r)
			}
		})
		err := p.Put(context.Background(), provider.Member{ID: name})
		if timedOut(t, err) {
			return
		}
		if u := fs.unexpectedRequests(); len(u) > 0 {
			t.Fatalf("Put sent %q", u)
		}
		lookups, creates := fs.count("GET /Users"), fs.count("POST /Users")
		if lookups > 4 || creates > 1 || len(patched) > 1 {
			t.Fatalf("Put made %d lookups, %d creates, %d patches", lookups, creates, len(patched))
		}
		if err != nil {
			checkError(t, err)
		}
		// What the lookup found: users named name (ignoring case) with an id.
		var (
			lr    listResponse[user]
			found []user
		)
		lookupOK := lookupA.is2xx() && decodes(lookupA.received(), &lr)
		for _, u := range lr.Resources {
			if strings.EqualFold(u.UserName, name) && u.ID != "" {
				found = append(found, u)
			}
		}
		switch {
		case !lookupOK:
			if err == nil || creates > 0 {
				t.Fatalf("lookup HTTP %d %q: Put = %v after %d creates, want an error and no create", lookupA.status, lookupA.received(), err, creates)
			}
			c := provider.Retryable // not SCIM JSON
			if !lookupA.is2xx() {
				other := provider.PoolPermanent // listing all users
				if filter && lookupA.status != 404 {
					other = provider.MemberPermanent
				}
				c = wantClass(lookupA.status, other)
				if badLocation(lookupA.status, err) {
					c = provider.Retryable
				}
			}
			if got := provider.Classify(err); got != c {
				t.Fatalf("lookup HTTP %d %q: class %v, want %v: %v", lookupA.status, lookupA.received(), got, c, err)
			}
			return
		case len(found) > 0:
			if creates > 0 {
				t.Fatalf("Put created a user although the lookup found %+v", found)
			}
			if err != nil {
				t.Fatalf("Put of a user found (%+v): %v", found, err)
			}
			i := max(0, slices.IndexFunc(found, user.active))
			if found[i].active() != (len(patched) == 0) {
				t.Fatalf("found %+v, patched %q", found, patched)
			}
			if len(patched) == 1 && !slices.ContainsFunc(found, func(u user) bool { return u.ID == patched[0] }) {
				t.Fatalf("patched user %q, not one of %+v", patched[0], found)
			}
			return
		}
		if creates != 1 {
			t.Fatalf("the lookup found nobody, yet Put made %d creates", creates)
		}
		var created user
		switch {
		case createA.is2xx() && !decodes(createA.received(), &created):
			if c := provider.Classify(err); err == nil || c != provider.Retryable {
				t.Fatalf("create answered %q: %v, want retryable", createA.received(), err)
			}
		case createA.is2xx() && created.ID != "":
			if err != nil {
				t.Fatalf("create answered %q: %v", createA.received(), err)
			}
		case createA.is2xx() || createA.status == 409:
			// Created without an id, or a conflict: looked up again, and
			// the lookup still finds nobody.
			if err == nil || provider.Classify(err) != provider.MemberPermanent || lookups < 2 {
				t.Fatalf("create HTTP %d %q, then nobody found: %v after %d lookups, want member-permanent",
					createA.status, createA.received(), err, lookups)
			}
		default:
			c := wantClass(createA.status, provider.MemberPermanent)
			if badLocation(createA.status, err) {
				c = provider.Retryable
			}
			if err == nil || provider.Classify(err) != c {
				t.Fatalf("create HTTP %d: %v, want %v", createA.status, err, c)
			}
		}
		if err == nil && len(patched) != 0 {
			t.Fatalf("patched %q after creating an active user", patched)
		}
	})
}
