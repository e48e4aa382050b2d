package api

import (
	"net"
	"net/http"
)

// clientIP is the address the per-address limit of the public routes counts.
func clientIP(r *http.Request) string {
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return ip
}
