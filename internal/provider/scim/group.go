package scim

import (
	"context"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/berthhq/berth/internal/provider"
)

// group is the part of a SCIM Group the provider reads.
type group struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	Members     []struct {
		Value string `json:"value"`
	} `json:"members"`
}

// groupID returns the id of the configured group, found once and then
// remembered for a while.
func (p *Provider) groupID(ctx context.Context, f Features) (string, error) {
	if v, ok := cacheGet(p.groupKey); ok {
		return v.(string), nil
	}
	id, err := p.resolveGroup(ctx, f)
	if err != nil {
		return "", err
	}
	cachePut(p.groupKey, id)
	return id, nil
}

// resolveGroup finds the configured group by its displayName, then by its
// id. A group that is not there is a pool-level error: the team's settings
// name a group the server does not have.
func (p *Provider) resolveGroup(ctx context.Context, f Features) (string, error) {
	name := p.cfg.Group
	var found []group
	keep := func(g group) {
		if strings.EqualFold(g.DisplayName, name) && g.ID != "" {
			found = append(found, g)
		}
	}
	var err error
	if f.Filter {
		q := url.Values{"filter": {filterEq("displayName", name)}, "attributes": {"displayName"}}
		var lr listResponse[group]
		if err = p.call(ctx, "GET", "/Groups", q, nil, &lr); err == nil {
			for _, g := range lr.Resources {
				keep(g)
			}
		}
	} else {
		err = p.eachGroup(ctx, f, keep)
	}
	if err != nil && status(err) != 400 { // 400: the name cannot be a filter value; try it as an id
		return "", p.classify("find group "+strconv.Quote(name), err, provider.PoolPermanent)
	}
	if i := slices.IndexFunc(found, func(g group) bool { return g.DisplayName == name }); i >= 0 {
		found = []group{found[i]}
	}
	switch len(found) {
	case 1:
		return found[0].ID, nil
	case 0:
	default:
		return "", provider.Errorf(provider.PoolPermanent,
			"scim %s: %d groups are called %q; set group to the id of one of them", p.host, len(found), name)
	}
	var g group
	err = p.call(ctx, "GET", "/Groups/"+url.PathEscape(name), url.Values{"attributes": {"displayName"}}, nil, &g)
	switch {
	case err == nil && g.ID != "":
		return g.ID, nil
	case err == nil, status(err) == 404, status(err) == 400:
		return "", provider.Errorf(provider.PoolPermanent,
			"scim %s: group %q not found: no group has that displayName or id", p.host, name)
	}
	return "", p.classify("find group "+strconv.Quote(name), err, provider.PoolPermanent)
}

// eachGroup pages through all groups; a failed call's error is returned
// as it is (findGroup classifies it).
func (p *Provider) eachGroup(ctx context.Context, f Features, fn func(group)) error {
	return eachPage(ctx, p, f, "/Groups", "displayName", "groups", func(g group) string { return g.ID }, fn, nil)
}

// members returns the ids of the group's members.
func (p *Provider) members(ctx context.Context, gid string) ([]string, error) {
	var g group
	err := p.call(ctx, "GET", "/Groups/"+url.PathEscape(gid), url.Values{"attributes": {"members"}}, nil, &g)
	if err != nil {
		return nil, p.groupError("read group members", err)
	}
	ids := make([]string, 0, len(g.Members))
	for _, m := range g.Members {
		ids = append(ids, m.Value)
	}
	return ids, nil
}

// isMember reports whether the user is a member of the group, asking with a
// filter when the server has them and reading the members otherwise.
func (p *Provider) isMember(ctx context.Context, f Features, gid, uid string) (bool, error) {
	if f.Filter {
		q := url.Values{
			"filter":     {filterEq("id", gid) + " and " + filterEq("members.value", uid)},
			"attributes": {"displayName"},
		}
		var lr listResponse[group]
		err := p.call(ctx, "GET", "/Groups", q, nil, &lr)
		if err == nil {
			return slices.ContainsFunc(lr.Resources, func(g group) bool { return g.ID == gid }), nil
		}
		if status(err) != 400 { // 400: no such filters here; read the members
			return false, p.groupError("check group membership", err)
		}
	}
	ids, err := p.members(ctx, gid)
	return slices.Contains(ids, uid), err
}

// addMember adds the user to the group unless it is a member already.
func (p *Provider) addMember(ctx context.Context, f Features, gid string, u user) error {
	in, err := p.isMember(ctx, f, gid, u.ID)
	if err != nil || in {
		return err
	}
	path := "/Groups/" + url.PathEscape(gid)
	if f.Patch {
		err = p.call(ctx, "PATCH", path, nil, patchOp(map[string]any{
			"op": "add", "path": "members", "value": []map[string]any{{"value": u.ID}},
		}), nil)
	} else {
		err = p.replace(ctx, path, func(r map[string]any) {
			ms, _ := r["members"].([]any)
			r["members"] = append(ms, map[string]any{"value": u.ID})
		})
	}
	if err != nil {
		return p.groupError("add user "+u.UserName+" to group", err)
	}
	return nil
}

// removeMember takes the user out of the group if it is a member.
func (p *Provider) removeMember(ctx context.Context, f Features, gid string, u user) error {
	in, err := p.isMember(ctx, f, gid, u.ID)
	if err != nil || !in {
		return err
	}
	path := "/Groups/" + url.PathEscape(gid)
	if f.Patch {
		err = p.call(ctx, "PATCH", path, nil, patchOp(map[string]any{
			"op": "remove", "path": "members[" + filterEq("value", u.ID) + "]",
		}), nil)
	} else {
		err = p.replace(ctx, path, func(r map[string]any) {
			ms, _ := r["members"].([]any)
			r["members"] = slices.DeleteFunc(ms, func(m any) bool {
				mm, _ := m.(map[string]any)
				return mm["value"] == u.ID
			})
		})
	}
	if err != nil {
		return p.groupError("remove user "+u.UserName+" from group", err)
	}
	return nil
}

// groupError classifies a failed group request. A group that vanished is
// forgotten and the call retried: the next try looks it up again, and finds
// it or reports that it is gone for good.
func (p *Provider) groupError(op string, err error) error {
	if status(err) == 404 {
		cacheDrop(p.groupKey)
		return provider.Errorf(provider.Retryable, "scim %s: %s: group %q not found (looking it up again)", p.host, op, p.cfg.Group)
	}
	return p.classify(op, err, provider.MemberPermanent)
}
