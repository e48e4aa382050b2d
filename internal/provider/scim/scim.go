// Package scim provisions a team's users through SCIM 2.0 (RFC 7643, RFC
// 7644), the protocol identity providers use to add and remove users in a
// workspace. A member's ID, the user's e-mail address, is the SCIM userName.
//
// Every operation first looks the user up (GET /Users?filter=userName eq
// "…"), so that a retry after a lost answer never creates a second user:
//
//   - Put creates the user only when absent (POST /Users), reactivates a
//     deactivated one (active=true), and adds it to the configured group if
//     it is not a member yet. A 409 on create means someone created the user
//     meanwhile: the user is looked up again and used.
//   - Remove deletes the user (DELETE /Users/{id}) or, with deprovision
//     "deactivate", takes it out of the configured group and sets
//     active=false. A user already absent is not an error.
//   - List pages through GET /Users and returns the userNames of the active
//     users, or of the active members of the configured group.
//   - Check reads the ServiceProviderConfig and makes one authenticated
//     GET /Users (and finds the group), as a cheap health probe.
//
// What the server supports is read from its ServiceProviderConfig once and
// remembered for a while (see Features): without PATCH support resources are
// changed by GET and PUT; without filter support users are found by paging.
//
// Errors are classified as provider.Error: 401 and 403 are pool-permanent
// (the credentials were rejected: the team becomes credential_invalid), so
// are redirects, 501 and a configured group that does not exist; 400, 404,
// 409 and 422 answered to a member's request are member-permanent; 429
// (with its Retry-After, in seconds or as an HTTP date), 408, 5xx, timeouts
// and connection failures are retryable. The bearer token is never logged
// nor put in an error. Of an error answer only the status, the scimType and
// a short cleaned summary of the SCIM detail are kept, never the body. The
// server's address must be allowed by BERTH_PROVIDER_ALLOWED_HOSTS (package
// egress, checked when connecting); a refused one is pool-permanent.
package scim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/berthhq/berth/internal/provider"
)

// Schema URNs (RFC 7643 8.7.1, RFC 7644 3.5.2).
const (
	userSchema    = "urn:ietf:params:scim:schemas:core:2.0:User"
	patchOpSchema = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
)

// pageSize is how many resources a list request asks for; a server's
// filter.maxResults lowers it, and a server may return fewer anyway.
const pageSize = 100

// maxPages bounds a listing, so that a server that never ends its pages
// cannot keep a job busy forever.
const maxPages = 100_000

// Provider provisions users on one SCIM service provider. It implements
// provider.Provider and is safe for concurrent use.
type Provider struct {
	cfg      Config
	base     string // base_url without a trailing slash
	host     string // for error messages
	featKey  [32]byte
	groupKey [32]byte
}

var _ provider.Provider = (*Provider)(nil)

// New checks cfg and returns a provider for it. It does not connect.
func New(cfg Config) (*Provider, error) {
	u, err := cfg.parse()
	if err != nil {
		return nil, err
	}
	p := &Provider{cfg: cfg, base: u.String(), host: u.Host}
	p.featKey = cacheKey("features", p.base, cfg.Token)
	p.groupKey = cacheKey("group", p.base, cfg.Token, cfg.Group)
	return p, nil
}

// Config returns the provider's configuration.
func (p *Provider) Config() Config { return p.cfg }

// user is the part of a SCIM User the provider reads.
type user struct {
	ID       string `json:"id"`
	UserName string `json:"userName"`
	Active   *bool  `json:"active"`
}

// active reports the user's administrative status; a server that does not
// keep one has only active users.
func (u user) active() bool { return u.Active == nil || *u.Active }

// listResponse is a SCIM ListResponse (RFC 7644 3.4.2).
type listResponse[T any] struct {
	TotalResults int `json:"totalResults"`
	StartIndex   int `json:"startIndex"`
	Resources    []T `json:"Resources"`
}

// Put provisions m.ID: it makes sure an active user with that userName
// exists and, if a group is configured, is one of its members.
func (p *Provider) Put(ctx context.Context, m provider.Member) error {
	name, f, err := p.memberCall(ctx, m)
	if err != nil {
		return err
	}
	u, err := p.ensureUser(ctx, f, name)
	if err != nil {
		return err
	}
	if p.cfg.Group == "" {
		return nil
	}
	gid, err := p.groupID(ctx, f)
	if err != nil {
		return err
	}
	return p.addMember(ctx, f, gid, u)
}

// memberCall is the start of Put and Remove: m's userName and the server's
// features.
func (p *Provider) memberCall(ctx context.Context, m provider.Member) (string, Features, error) {
	name, err := p.userName(m)
	if err != nil {
		return "", Features{}, err
	}
	f, err := p.Features(ctx)
	return name, f, err
}

// Remove deprovisions m.ID as configured: deletes the user, or takes it out
// of the configured group and deactivates it. Every user with that userName
// is removed; none is fine.
func (p *Provider) Remove(ctx context.Context, m provider.Member) error {
	name, f, err := p.memberCall(ctx, m)
	if err != nil {
		return err
	}
	users, err := p.find(ctx, f, name)
	if err != nil {
		return err
	}
	for _, u := range users {
		if p.cfg.deprovision() == DeprovisionDelete {
			err := p.call(ctx, "DELETE", "/Users/"+url.PathEscape(u.ID), nil, nil, nil)
			if err != nil && status(err) != 404 { // 404: gone already
				return p.classify("delete user "+name, err, provider.MemberPermanent)
			}
			continue
		}
		if p.cfg.Group != "" {
			gid, err := p.groupID(ctx, f)
			if err != nil {
				return err
			}
			if err := p.removeMember(ctx, f, gid, u); err != nil {
				return err
			}
		}
		if u.active() {
			if err := p.setActive(ctx, f, u, false); err != nil {
				return err
			}
		}
	}
	return nil
}

// List returns the userNames of the active users, or of the active members
// of the configured group, sorted. Deactivated users are not listed.
func (p *Provider) List(ctx context.Context) ([]string, error) {
	f, err := p.Features(ctx)
	if err != nil {
		return nil, err
	}
	var in map[string]bool // group members by user id; nil: everyone
	if p.cfg.Group != "" {
		gid, err := p.groupID(ctx, f)
		if err != nil {
			return nil, err
		}
		ids, err := p.members(ctx, gid)
		if err != nil {
			return nil, err
		}
		in = map[string]bool{}
		for _, id := range ids {
			in[id] = true
		}
	}
	names := []string{}
	seen := map[string]bool{}
	err = p.eachUser(ctx, f, func(u user) {
		// A user without an id or a userName cannot be acted on (find
		// skips it, Remove refuses an empty member id): not listed.
		if u.active() && u.ID != "" && u.UserName != "" && !seen[u.ID] && (in == nil || in[u.ID]) {
			seen[u.ID] = true
			names = append(names, u.UserName)
		}
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

// Check reads the ServiceProviderConfig afresh, makes one authenticated
// request for one user, and, if a group is configured, finds it again.
func (p *Provider) Check(ctx context.Context) error {
	f, err := p.readFeatures(ctx)
	if err != nil {
		return err
	}
	q := url.Values{"startIndex": {"1"}, "count": {"1"}, "attributes": {"userName"}}
	var lr listResponse[user]
	if err := p.call(ctx, "GET", "/Users", q, nil, &lr); err != nil {
		return p.classify("list users", err, provider.PoolPermanent)
	}
	if p.cfg.Group != "" {
		cacheDrop(p.groupKey)
		if _, err := p.groupID(ctx, f); err != nil {
			return err
		}
	}
	return nil
}

// userName checks the member's id, which becomes the SCIM userName.
func (p *Provider) userName(m provider.Member) (string, error) {
	switch {
	case strings.TrimSpace(m.ID) == "":
		return "", provider.Errorf(provider.MemberPermanent, "scim %s: member has no id (e-mail address)", p.host)
	case strings.ContainsFunc(m.ID, unicode.IsControl):
		return "", provider.Errorf(provider.MemberPermanent, "scim %s: member id %q contains control characters", p.host, m.ID)
	case len(m.ID) > 512:
		return "", provider.Errorf(provider.MemberPermanent, "scim %s: member id is longer than 512 bytes", p.host)
	}
	return m.ID, nil
}

// ensureUser finds the user or creates it, and makes it active.
func (p *Provider) ensureUser(ctx context.Context, f Features, name string) (user, error) {
	users, err := p.find(ctx, f, name)
	if err != nil {
		return user{}, err
	}
	if len(users) == 0 {
		u, err := p.create(ctx, name)
		switch {
		case err == nil && u.ID != "":
			return u, nil
		case err == nil || status(err) == 409:
			// Created without an answer we can use, or created meanwhile
			// by someone else (a retry's earlier attempt, another worker).
			if users, err = p.find(ctx, f, name); err != nil {
				return user{}, err
			}
			if len(users) == 0 {
				return user{}, provider.Errorf(provider.MemberPermanent,
					"scim %s: create user %s: the server refused it as a conflict, yet no user has that userName", p.host, name)
			}
		default:
			return user{}, p.classify("create user "+name, err, provider.MemberPermanent)
		}
	}
	// Prefer an active user when the server holds several of that name.
	i := max(0, slices.IndexFunc(users, user.active))
	u := users[i]
	if !u.active() {
		if err := p.setActive(ctx, f, u, true); err != nil {
			return user{}, err
		}
	}
	return u, nil
}

// create adds an active user named name (POST /Users).
func (p *Provider) create(ctx context.Context, name string) (user, error) {
	body := map[string]any{
		"schemas":  []string{userSchema},
		"userName": name,
		"active":   true,
	}
	if strings.Contains(name, "@") {
		body["emails"] = []map[string]any{{"value": name, "type": "work", "primary": true}}
	}
	var u user
	err := p.call(ctx, "POST", "/Users", nil, body, &u)
	return u, err
}

// find returns the users whose userName is name, ignoring case as SCIM does
// for userName (RFC 7643 4.1.1), exact matches first.
func (p *Provider) find(ctx context.Context, f Features, name string) ([]user, error) {
	var found []user
	keep := func(u user) {
		if strings.EqualFold(u.UserName, name) && u.ID != "" {
			found = append(found, u)
		}
	}
	if f.Filter {
		q := url.Values{"filter": {filterEq("userName", name)}, "attributes": {"userName,active"}}
		var lr listResponse[user]
		if err := p.call(ctx, "GET", "/Users", q, nil, &lr); err != nil {
			other := provider.MemberPermanent // e.g. 400 invalidFilter for this name
			if status(err) == 404 {
				other = provider.PoolPermanent // no /Users at base_url
			}
			return nil, p.classify("find user "+name, err, other)
		}
		for _, u := range lr.Resources {
			keep(u)
		}
	} else if err := p.eachUser(ctx, f, keep); err != nil {
		return nil, err
	}
	slices.SortStableFunc(found, func(a, b user) int {
		ea, eb := a.UserName == name, b.UserName == name
		switch {
		case ea && !eb:
			return -1
		case eb && !ea:
			return 1
		}
		return 0
	})
	return found, nil
}

// eachUser pages through all users.
func (p *Provider) eachUser(ctx context.Context, f Features, fn func(user)) error {
	return eachPage(ctx, p, f, "/Users", "userName,active", "users", func(u user) string { return u.ID }, fn,
		func(err error) error { return p.classify("list users", err, provider.PoolPermanent) })
}

// eachPage pages through the resources at path (/Users, /Groups), asking
// for attrs, and calls fn for each; id is a resource's id, what names the
// resources in the error of a listing without end. A failed call's error
// is returned through callErr (nil: as it is).
func eachPage[T any](ctx context.Context, p *Provider, f Features, path, attrs, what string, id func(T) string, fn func(T),
	callErr func(error) error) error {
	count := pageSize
	if f.MaxResults > 0 && f.MaxResults < count {
		count = f.MaxResults
	}
	start := 1
	ids := map[string]bool{}
	for range maxPages {
		q := url.Values{"startIndex": {strconv.Itoa(start)}, "count": {strconv.Itoa(count)}, "attributes": {attrs}}
		var lr listResponse[T]
		if err := p.call(ctx, "GET", path, q, nil, &lr); err != nil {
			if callErr != nil {
				err = callErr(err)
			}
			return err
		}
		// A page of resources all seen before is a server that ignores
		// startIndex or starts over: the end, not a reason to go on.
		if !fresh(lr.Resources, ids, id) {
			return nil
		}
		for _, r := range lr.Resources {
			fn(r)
		}
		start += len(lr.Resources)
		// Stop at an empty page, or past the total. (Asking past the total
		// is not safe: some servers then answer with the first page.)
		if len(lr.Resources) == 0 || (lr.TotalResults > 0 && start > lr.TotalResults) {
			return nil
		}
	}
	return provider.Errorf(provider.Retryable, "scim %s: list %s: more than %d pages", p.host, what, maxPages)
}

// fresh records the ids of a page's resources in seen and reports whether
// the page is empty or brought one not seen before.
func fresh[T any](page []T, seen map[string]bool, id func(T) string) bool {
	added := len(page) == 0
	for _, r := range page {
		if k := id(r); !seen[k] {
			seen[k], added = true, true
		}
	}
	return added
}

// setActive sets a user's active attribute.
func (p *Provider) setActive(ctx context.Context, f Features, u user, active bool) error {
	op := "reactivate user " + u.UserName
	if !active {
		op = "deactivate user " + u.UserName
	}
	path := "/Users/" + url.PathEscape(u.ID)
	var err error
	if f.Patch {
		err = p.call(ctx, "PATCH", path, nil, patchOp(map[string]any{"op": "replace", "path": "active", "value": active}), nil)
	} else {
		err = p.replace(ctx, path, func(r map[string]any) { r["active"] = active })
	}
	if status(err) == 404 {
		// Deleted since it was found: the next try starts afresh.
		return provider.Errorf(provider.Retryable, "scim %s: %s: the user disappeared meanwhile", p.host, op)
	}
	if err != nil {
		return p.classify(op, err, provider.MemberPermanent)
	}
	return nil
}

// replace changes a resource without PATCH: it reads it, lets change edit
// it, and PUTs it back (RFC 7644 3.5.1).
func (p *Provider) replace(ctx context.Context, path string, change func(map[string]any)) error {
	var r map[string]any
	if err := p.call(ctx, "GET", path, nil, nil, &r); err != nil {
		return err
	}
	delete(r, "meta") // read-only
	change(r)
	return p.call(ctx, "PUT", path, nil, r, nil)
}

// patchOp wraps operations in a PatchOp message (RFC 7644 3.5.2).
func patchOp(ops ...map[string]any) map[string]any {
	return map[string]any{"schemas": []string{patchOpSchema}, "Operations": ops}
}

// filterEq builds the filter `attr eq "value"` with value as a JSON string,
// as RFC 7644 3.4.2.2 writes string values: quotes and backslashes escaped.
func filterEq(attr, value string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(value) // a string always encodes
	return fmt.Sprintf("%s eq %s", attr, strings.TrimSuffix(b.String(), "\n"))
}
