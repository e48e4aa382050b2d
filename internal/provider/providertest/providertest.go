// Package providertest helps the fuzz tests of providers answer with any
// status and header a fuzzer makes up, through a real HTTP server.
package providertest

import "strings"

// FoldStatus maps any int onto a final HTTP status, 200 to 599.
func FoldStatus(s int) int {
	if s >= 200 && s <= 599 {
		return s
	}
	return 200 + ((s%400)+400)%400
}

// HeaderValue drops the bytes HTTP does not allow in a header value
// (controls), which a server would refuse to send as they are.
func HeaderValue(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}
