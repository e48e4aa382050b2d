package app

import (
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// HTTPConfig bounds what one client can hold of the HTTP server.
type HTTPConfig struct {
	// MaxConnections caps open connections (BERTH_HTTP_MAX_CONNECTIONS,
	// default 4096). Beyond it new connections wait in the kernel's accept
	// queue until one closes, so a flood of idle connections cannot exhaust
	// the process's file descriptors.
	MaxConnections int
	// BodyTimeout is how long a request body may take to arrive, plus one
	// second per bodyMinRate bytes it declares (BERTH_HTTP_BODY_TIMEOUT,
	// default 15s; at most maxBodyTime in all). A body trickled one byte at
	// a time is cut off when it runs out, so it cannot hold a connection.
	BodyTimeout time.Duration
}

const (
	defaultMaxConnections = 4096
	defaultBodyTimeout    = 15 * time.Second
	// bodyMinRate is the slowest upload berth waits for: 32 KiB a second
	// lets a 10 MiB batch of credential files take about 5 minutes.
	bodyMinRate = 32 << 10
	maxBodyTime = 10 * time.Minute
)

func (c HTTPConfig) withDefaults() HTTPConfig {
	if c.MaxConnections <= 0 {
		c.MaxConnections = defaultMaxConnections
	}
	if c.BodyTimeout <= 0 {
		c.BodyTimeout = defaultBodyTimeout
	}
	return c
}

// bodyDeadline gives a request's body a read deadline of base plus a second
// per bodyMinRate declared bytes (maxBodyTime for a body of unknown
// length) and lifts it once the body has been read, so a handler that
// works long after reading is not cut off. http.Server's ReadTimeout is not
// used for this: it would also cover the handler's work and, once passed,
// cancel the request's context.
func bodyDeadline(base time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
			next.ServeHTTP(w, r)
			return
		}
		d := maxBodyTime
		if r.ContentLength > 0 {
			d = min(base+time.Duration(r.ContentLength/bodyMinRate)*time.Second, maxBodyTime)
		}
		rc := http.NewResponseController(w)
		if err := rc.SetReadDeadline(time.Now().Add(d)); err == nil {
			r.Body = &deadlineBody{ReadCloser: r.Body, rc: rc}
		}
		next.ServeHTTP(w, r)
	})
}

// deadlineBody lifts the read deadline when the body ends.
type deadlineBody struct {
	io.ReadCloser
	rc     *http.ResponseController
	lifted bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.lift()
	}
	return n, err
}

func (b *deadlineBody) Close() error {
	b.lift()
	return b.ReadCloser.Close()
}

func (b *deadlineBody) lift() {
	if !b.lifted {
		b.lifted = true
		b.rc.SetReadDeadline(time.Time{})
	}
}

// limitListener accepts at most n connections at a time. (A semaphore in
// thirty lines; golang.org/x/net/netutil has the same, but berth does not
// otherwise need that module.)
type limitListener struct {
	net.Listener
	sem    chan struct{}
	done   chan struct{}
	closed sync.Once
}

func newLimitListener(l net.Listener, n int) net.Listener {
	return &limitListener{Listener: l, sem: make(chan struct{}, n), done: make(chan struct{})}
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.sem <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return &limitConn{Conn: c, release: func() { <-l.sem }}, nil
}

func (l *limitListener) Close() error {
	l.closed.Do(func() { close(l.done) })
	return l.Listener.Close()
}

type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
