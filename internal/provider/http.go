package provider

import (
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// RetryAfter parses a Retry-After value, in seconds or as an HTTP date
// (RFC 9110 10.2.3), relative to now, capped at a day. Absent or unreadable
// values give 0.
func RetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		return time.Duration(min(n, 86400)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return min(d, 24*time.Hour)
		}
	}
	return 0
}

// IsLoopback reports whether host names this machine (localhost or a
// loopback address): plain http is allowed there only, for tests.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
