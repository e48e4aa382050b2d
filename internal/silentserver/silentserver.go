// Package silentserver starts, for a test, a TCP server on 127.0.0.1 that
// accepts connections and never says a word: what a client's handshake or
// greeting timeout is tested against (SMTP in notify, SSH in
// provider/sftp).
package silentserver

import (
	"net"
	"sync"
	"testing"
)

// Start listens on a free port of 127.0.0.1 and returns it. The server
// accepts every connection and holds it open without writing; it stops,
// closing the connections, when the test ends.
func Start(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
		done  = make(chan struct{})
	)
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().(*net.TCPAddr).Port
}
