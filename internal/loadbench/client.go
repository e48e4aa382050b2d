package loadbench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/berthhq/berth/internal/adminclient"
)

// userAddr is the loopback source address of simulated user i: every user
// has their own, as people behind their own connections would, so berth's
// per-address limit on the public routes (20/s, burst 40) throttles nobody
// who behaves. The addresses are 127.b.c.d with b in 1..254, c in 0..255 and
// d in 1..254: never 127.0.0.1 (the admin client's), never ending in .0 or
// .255, distinct for the first 254·256·254 (≈16.5 million) users.
func userAddr(i int) netip.Addr {
	d := 1 + i%254
	i /= 254
	c := i % 256
	i /= 256
	b := 1 + i%254
	return netip.AddrFrom4([4]byte{127, byte(b), byte(c), byte(d)})
}

// Disjoint user index ranges per workload, so that no two workloads share
// an address (berth remembers an address's bucket for 10 minutes).
const (
	usersValid      = 0
	usersMixedValid = 1 << 20
	usersWrong      = 2 << 20
	usersMixedWrong = 3 << 20
	usersTrivial    = 4 << 20
)

type sourceKey struct{}

// withSource makes the public client dial from addr.
func withSource(ctx context.Context, addr netip.Addr) context.Context {
	return context.WithValue(ctx, sourceKey{}, addr)
}

// checkLoopback refuses any destination that is not an IPv4 loopback
// address: the benchmark only ever talks to this machine.
func checkLoopback(hostport string) error {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.Is4() || !ip.IsLoopback() {
		return fmt.Errorf("refusing to connect to %s: the benchmark only targets IPv4 loopback (127.0.0.0/8)", hostport)
	}
	return nil
}

// loopbackURL validates a target URL: http on an IPv4 loopback address
// ("localhost" is read as 127.0.0.1). It returns the URL without a
// trailing slash.
func loopbackURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("--url %q: %v", raw, err)
	}
	if u.Scheme != "http" {
		return "", fmt.Errorf("--url %q: use http://127.0.0.1:PORT (the benchmark does not speak TLS)", raw)
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = "80"
	}
	if host == "localhost" {
		host = "127.0.0.1"
	}
	hp := net.JoinHostPort(host, port)
	if err := checkLoopback(hp); err != nil {
		return "", fmt.Errorf("--url %q: %v", raw, err)
	}
	return "http://" + hp + strings.TrimRight(u.Path, "/"), nil
}

// publicClient opens a fresh connection for every request, from the source
// address in the request's context (see withSource), with keep-alives off:
// each simulated user has their own connection, as on the internet.
func publicClient(timeout time.Duration) *http.Client {
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		if err := checkLoopback(addr); err != nil {
			return nil, err
		}
		src, ok := ctx.Value(sourceKey{}).(netip.Addr)
		if !ok {
			return nil, errors.New("loadbench: public request without a source address")
		}
		d := net.Dialer{Timeout: 10 * time.Second, LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(src, 0))}
		return d.DialContext(ctx, "tcp4", addr)
	}
	return &http.Client{Timeout: timeout, Transport: &http.Transport{DialContext: dial, DisableKeepAlives: true}}
}

// adminHTTP is the keep-alive client for seeding and imports, from
// 127.0.0.1.
func adminHTTP() *http.Client {
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		if err := checkLoopback(addr); err != nil {
			return nil, err
		}
		var d net.Dialer
		return d.DialContext(ctx, "tcp4", addr)
	}
	return &http.Client{Timeout: 10 * time.Minute, Transport: &http.Transport{DialContext: dial, MaxIdleConnsPerHost: 32}}
}

// admin calls berth's admin API with the bearer token
// (adminclient.Client); its errors name the request.
type admin struct{ adminclient.Client }

// do sends a request and decodes a JSON answer into out; an answer that is
// not 2xx becomes an error carrying berth's problem detail.
func (a *admin) do(ctx context.Context, method, path, contentType string, body io.Reader, out any) error {
	return named(method, path, a.Do(ctx, method, path, contentType, body, out))
}

// json sends in as a JSON body.
func (a *admin) json(ctx context.Context, method, path string, in, out any) error {
	return named(method, path, a.JSON(ctx, method, path, in, out))
}

// named puts the request in front of err, if any.
func named(method, path string, err error) error {
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	return nil
}

// sendJSON posts body as JSON with client c and returns the status, and
// decodes a 2xx answer into out when out is not nil. It reads the whole
// answer, so the latency includes the body.
func sendJSON(ctx context.Context, c *http.Client, method, url string, body, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return doJSON(c, req, out)
}

// doJSON sends req and returns the status, decoding a 2xx answer into out
// when out is not nil.
func doJSON(c *http.Client, req *http.Request, out any) (int, error) {
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	if out != nil && resp.StatusCode/100 == 2 {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, fmt.Errorf("decoding the answer: %w", err)
		}
	}
	return resp.StatusCode, nil
}

// requestFunc sends request i and returns its HTTP status (0 with an error
// when there was no answer).
type requestFunc func(ctx context.Context, i int) (int, error)

// load sends requests 0..n-1 (n < 0: until ctx ends) from clients
// goroutines pulling from one channel, recording each request's latency.
// It stops handing out work after maxDur; requests in flight then finish.
// Requests cut off because ctx ended are not counted.
func load(ctx context.Context, clients, n int, maxDur time.Duration, do requestFunc) *sample {
	total := newSample()
	work := make(chan int)
	start := time.Now()
	stopped := false
	go func() {
		defer close(work)
		timer := time.NewTimer(maxDur)
		defer timer.Stop()
		for i := 0; n < 0 || i < n; i++ {
			select {
			case work <- i:
			case <-ctx.Done():
				return
			case <-timer.C:
				stopped = true
				return
			}
		}
	}()
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			s := newSample()
			for i := range work {
				t := time.Now()
				code, err := do(ctx, i)
				d := time.Since(t)
				switch {
				case code != 0:
					s.durs = append(s.durs, d)
					s.status[code]++
				case ctx.Err() != nil:
					// Cut off by the end of the run: not an observation.
				default:
					s.netErrs++
					s.lastErr = err.Error()
				}
			}
			mu.Lock()
			total.merge(s)
			mu.Unlock()
		})
	}
	wg.Wait()
	total.elapsed = time.Since(start)
	total.stopped = stopped // the feeder has returned: work is closed
	return total
}
