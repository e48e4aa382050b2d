package scim

import (
	"context"
	"crypto/sha256"
	"sync"
	"time"

	"github.com/berthhq/berth/internal/provider"
)

// cacheTTL is how long what was learnt about a server (its
// ServiceProviderConfig, the id of the configured group) is trusted.
const cacheTTL = 10 * time.Minute

// The job workers open a provider per job, so what a provider learns is
// kept per server and token, not per Provider value. Keys are sha256 sums,
// so the token is not kept in the clear here.
var (
	cacheMu sync.Mutex
	cache   = map[[32]byte]cached{}
)

type cached struct {
	at  time.Time
	val any
}

func cacheKey(parts ...string) [32]byte {
	h := sha256.New()
	for _, s := range parts {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	var k [32]byte
	h.Sum(k[:0])
	return k
}

func cacheGet(k [32]byte) (any, bool) {
	cacheMu.Lock()
	defer cacheMu.Unlock()
	c, ok := cache[k]
	if !ok || time.Since(c.at) > cacheTTL {
		delete(cache, k)
		return nil, false
	}
	return c.val, true
}

func cachePut(k [32]byte, v any) {
	cacheMu.Lock()
	defer cacheMu.Unlock()
	now := time.Now()
	for key, c := range cache { // keep the map small
		if now.Sub(c.at) > cacheTTL {
			delete(cache, key)
		}
	}
	cache[k] = cached{at: now, val: v}
}

func cacheDrop(k [32]byte) {
	cacheMu.Lock()
	defer cacheMu.Unlock()
	delete(cache, k)
}

// Features is what a server's ServiceProviderConfig (RFC 7643 5) says it
// supports, as far as the provider cares.
type Features struct {
	// Patch: PATCH is supported; otherwise the provider changes a resource
	// by reading it and PUTting it back.
	Patch bool
	// Filter: filtered queries are supported; otherwise the provider finds
	// a user by paging through all users.
	Filter bool
	// MaxResults is the most resources the server returns in one answer;
	// 0 if it did not say.
	MaxResults int
}

// serviceProviderConfig is the part of the ServiceProviderConfig resource
// the provider reads.
type serviceProviderConfig struct {
	Patch struct {
		Supported bool `json:"supported"`
	} `json:"patch"`
	Filter struct {
		Supported  bool `json:"supported"`
		MaxResults int  `json:"maxResults"`
	} `json:"filter"`
}

// Features returns what the server supports, read from its
// ServiceProviderConfig once and then remembered for a while for every
// provider of the same server and token.
func (p *Provider) Features(ctx context.Context) (Features, error) {
	if v, ok := cacheGet(p.featKey); ok {
		return v.(Features), nil
	}
	return p.readFeatures(ctx)
}

// readFeatures reads the ServiceProviderConfig and remembers it. A server
// without the endpoint (404) is taken to support PATCH and filters, which
// RFC 7644 requires of every server.
func (p *Provider) readFeatures(ctx context.Context) (Features, error) {
	var spc serviceProviderConfig
	err := p.call(ctx, "GET", "/ServiceProviderConfig", nil, nil, &spc)
	var f Features
	switch {
	case err == nil:
		f = Features{Patch: spc.Patch.Supported, Filter: spc.Filter.Supported, MaxResults: spc.Filter.MaxResults}
	case status(err) == 404:
		f = Features{Patch: true, Filter: true}
	default:
		return Features{}, p.classify("read ServiceProviderConfig", err, provider.PoolPermanent)
	}
	cachePut(p.featKey, f)
	return f, nil
}
