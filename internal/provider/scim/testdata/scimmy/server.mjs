// A real SCIM 2.0 service provider for berth's SCIM provider tests: SCIMMY's
// Express routers (written and maintained by others) over an in-memory store
// of Users and Groups, listening on 127.0.0.1 only.
//
// Start: `node server.mjs`. It prints one JSON line, {"port":N}, once it
// listens, and exits when its standard input closes (the Go test holds it) or
// on SIGTERM.
//
// Environment:
//   SCIM_TOKEN     bearer token clients must send (default "test-token");
//                  anything else gets 401 from SCIMMY's authentication handler
//   MAX_PAGE       largest page the server returns (default 10), also
//                  published as filter.maxResults in ServiceProviderConfig
//   UNIQUE         "0" lets POST /Users create a second user with a userName
//                  already taken (no 409), so that a client that creates
//                  twice is caught by the duplicate count; default enforces
//                  uniqueness with 409 scimType "uniqueness" (RFC 7644 3.3)
//   SPC_PATCH, SPC_FILTER  "0" publishes patch / filter as unsupported in
//                  ServiceProviderConfig (the server still accepts them)
//   FAULT_5XX, FAULT_TIMEOUT, FAULT_429  fault rates from 0 to 1 (below)
//   FAULT_SEED     seed of the fault dice (default 1)
//   HANG_MS        how long a "timeout" holds the connection before it is
//                  destroyed (default 5000)
//   RETRY_AFTER    Retry-After of injected 429s, in seconds (default 1)
//
// Faults, for requests under /scim/v2 only, one die per request:
//   429      answered at once with Retry-After, nothing applied;
//   5xx      503, half of them before the request is applied and half after
//            it was applied (the change stands, the client sees a failure);
//   timeout  the request is applied, then the answer is withheld and the
//            connection destroyed after HANG_MS.
//
// Test-only endpoints (no authentication, outside /scim/v2):
//   GET  /_test/state    {"users":[…all users, inactive too…],"groups":[…]}
//   GET  /_test/stats    counts of requests and injected faults
//   POST /_test/faults   {"rate5xx":…,"rateTimeout":…,"rate429":…} changes
//                        the fault rates at run time
import express from "express";
import SCIMMY from "scimmy";
import SCIMMYRouters from "scimmy-routers";
import {randomUUID} from "node:crypto";

const env = process.env;
const TOKEN = env.SCIM_TOKEN ?? "test-token";
const MAX_PAGE = Number(env.MAX_PAGE ?? 10);
const UNIQUE = env.UNIQUE !== "0";
const HANG_MS = Number(env.HANG_MS ?? 5000);
const RETRY_AFTER = String(env.RETRY_AFTER ?? "1");
const faults = {
    rate5xx: Number(env.FAULT_5XX ?? 0),
    rateTimeout: Number(env.FAULT_TIMEOUT ?? 0),
    rate429: Number(env.FAULT_429 ?? 0),
};
const stats = {requests: 0, injected429: 0, injected5xxBefore: 0, injected5xxAfter: 0, injectedTimeouts: 0, usersCreated: 0};

// mulberry32: a small seeded generator, so a failing run can be repeated.
let seed = Number(env.FAULT_SEED ?? 1) >>> 0;
function random() {
    seed = (seed + 0x6D2B79F5) >>> 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

/** @type {Map<string, object>} */
const users = new Map();
/** @type {Map<string, object>} */
const groups = new Map();
// A group the tests can name in the provider's "group" setting.
for (const name of ["Engineering", "Sales"]) {
    const id = randomUUID();
    groups.set(id, {id, displayName: name, members: [], meta: meta()});
}

function meta(created) {
    const now = new Date().toISOString();
    return {created: created ?? now, lastModified: now};
}

const plain = (v) => JSON.parse(JSON.stringify(v));

// page applies the server's page size cap to a list request: SCIMMY's
// ListResponse slices the full result by startIndex and count.
function page(resource) {
    const c = resource.constraints ?? {};
    resource.constraints = {...c, count: Math.min(c.count ?? MAX_PAGE, MAX_PAGE)};
}

function notFound(resource) {
    return new SCIMMY.Types.Error(404, null, `Resource ${resource.id} not found`);
}

// egressFrom reads one resource of store by id, or all of them, paged and
// filtered: the egress of users and groups alike.
function egressFrom(store) {
    return (resource) => {
        if (resource.id) {
            const r = store.get(resource.id);
            if (!r) throw notFound(resource);
            return plain(r);
        }
        const all = [...store.values()].map(plain);
        page(resource);
        return resource.filter ? resource.filter.match(all) : all;
    };
}

SCIMMY.Resources.declare(SCIMMY.Resources.User, {
    egress: egressFrom(users),
    ingress(resource, instance) {
        const data = plain(instance);
        delete data.schemas;
        const taken = [...users.values()].find((u) =>
            u.userName.toLowerCase() === String(data.userName).toLowerCase() && u.id !== resource.id);
        if (resource.id) {
            const old = users.get(resource.id);
            if (!old) throw notFound(resource);
            if (UNIQUE && taken) throw new SCIMMY.Types.Error(409, "uniqueness", `userName ${data.userName} is taken`);
            const u = {...data, id: old.id, meta: meta(old.meta.created)};
            users.set(u.id, u);
            return plain(u);
        }
        if (UNIQUE && taken) throw new SCIMMY.Types.Error(409, "uniqueness", `userName ${data.userName} is taken`);
        const u = {active: true, ...data, id: randomUUID(), meta: meta()};
        users.set(u.id, u);
        stats.usersCreated++;
        return plain(u);
    },
    degress(resource) {
        if (!users.delete(resource.id)) throw notFound(resource);
        for (const g of groups.values()) g.members = g.members.filter((m) => m.value !== resource.id);
    },
});

SCIMMY.Resources.declare(SCIMMY.Resources.Group, {
    egress: egressFrom(groups),
    ingress(resource, instance) {
        const data = plain(instance);
        delete data.schemas;
        for (const m of data.members ?? []) {
            if (!users.has(m.value)) throw new SCIMMY.Types.Error(400, "invalidValue", `member ${m.value} is not a user`);
        }
        if (resource.id) {
            const old = groups.get(resource.id);
            if (!old) throw notFound(resource);
            const g = {members: [], ...data, id: old.id, meta: meta(old.meta.created)};
            groups.set(g.id, g);
            return plain(g);
        }
        const g = {members: [], ...data, id: randomUUID(), meta: meta()};
        groups.set(g.id, g);
        return plain(g);
    },
    degress(resource) {
        if (!groups.delete(resource.id)) throw notFound(resource);
    },
});

const app = express();

app.get("/_test/state", (req, res) => res.json({users: [...users.values()], groups: [...groups.values()]}));
app.get("/_test/stats", (req, res) => res.json(stats));
app.post("/_test/faults", express.json(), (req, res) => {
    for (const k of Object.keys(faults)) if (typeof req.body?.[k] === "number") faults[k] = req.body[k];
    res.json(faults);
});

// Fault injection, in front of SCIMMY's router.
app.use("/scim/v2", (req, res, next) => {
    stats.requests++;
    let r = random();
    if ((r -= faults.rate429) < 0) {
        stats.injected429++;
        res.status(429).set("Retry-After", RETRY_AFTER).type("application/scim+json")
            .send(JSON.stringify({schemas: ["urn:ietf:params:scim:api:messages:2.0:Error"], status: "429", detail: "injected: too many requests"}));
        return;
    }
    if ((r -= faults.rate5xx) < 0) {
        if (random() < 0.5) {
            stats.injected5xxBefore++;
            res.status(503).type("application/scim+json")
                .send(JSON.stringify({schemas: ["urn:ietf:params:scim:api:messages:2.0:Error"], status: "503", detail: "injected: unavailable before applying"}));
            return;
        }
        stats.injected5xxAfter++;
        return after(res, next, (send) => {
            res.status(503);
            send(JSON.stringify({schemas: ["urn:ietf:params:scim:api:messages:2.0:Error"], status: "503", detail: "injected: unavailable after applying"}));
        });
    }
    if ((r -= faults.rateTimeout) < 0) {
        stats.injectedTimeouts++;
        return after(res, next, () => setTimeout(() => res.socket?.destroy(), HANG_MS));
    }
    next();
});

// after lets the request be applied, then replaces its answer: fn gets the
// original send and decides what, if anything, the client sees.
function after(res, next, fn) {
    const send = res.send;
    res.send = function () {
        res.send = send;
        fn((body) => send.call(res, body));
        return res;
    };
    next();
}

app.use("/scim/v2", new SCIMMYRouters({
    type: "bearer",
    handler: (req) => {
        if (req.header("Authorization") !== `Bearer ${TOKEN}`) throw new Error("bearer token rejected");
        return "berth-test";
    },
}));

// SCIMMYRouters sets its own ServiceProviderConfig; adjust it afterwards.
SCIMMY.Config.set({
    filter: {supported: env.SPC_FILTER !== "0", maxResults: MAX_PAGE},
    patch: env.SPC_PATCH !== "0",
    bulk: false,
});

const server = app.listen(0, "127.0.0.1", () => {
    process.stdout.write(JSON.stringify({port: server.address().port}) + "\n");
});
server.keepAliveTimeout = 30_000;

const stop = () => {
    server.closeAllConnections?.();
    process.exit(0);
};
process.stdin.on("end", stop);
process.stdin.on("close", stop);
process.stdin.resume();
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
