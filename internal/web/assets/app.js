// berth console: dialogs, confirmations, bulk selection, upload progress
// and tables read from the JSON API. Plain script, no build step. Every
// text comes from the page (data-* attributes), already translated.
(function () {
  "use strict";

  function fill(tpl, vars) {
    return String(tpl || "").replace(/\{(\w+)\}/g, function (m, k) {
      return Object.prototype.hasOwnProperty.call(vars, k) ? String(vars[k]) : m;
    });
  }
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }

  // Confirmation of destructive actions: data-confirm on the form or on the
  // button that submits it.
  document.addEventListener("submit", function (ev) {
    var b = ev.submitter;
    var msg = (b && b.getAttribute("data-confirm")) || ev.target.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) ev.preventDefault();
  }, true);

  // Dialogs.
  var reloadOnClose = false;
  document.addEventListener("click", function (ev) {
    var open = ev.target.closest("[data-open-dialog]");
    if (open) {
      var d = document.getElementById(open.getAttribute("data-open-dialog"));
      if (d && typeof d.showModal === "function") {
        d.showModal();
        d.dispatchEvent(new Event("berth:open"));
      }
      return;
    }
    var close = ev.target.closest("[data-close-dialog]");
    if (close) {
      var dlg = close.closest("dialog");
      if (dlg) dlg.close();
      if (reloadOnClose && close.hasAttribute("data-reload")) window.location.reload();
    }
  });

  // Select all rows.
  document.addEventListener("change", function (ev) {
    var t = ev.target;
    var name = t.getAttribute && t.getAttribute("data-select-all");
    if (name && t.form) {
      t.form.querySelectorAll('input[type="checkbox"][name="' + name + '"]').forEach(function (c) { c.checked = t.checked; });
    }
  });

  // Bulk status dialog: count, confirmation text, red warning.
  function setupBulk() {
    var dlg = document.getElementById("bulk-dialog");
    var form = document.getElementById("pools-form");
    if (!dlg || !form) return;
    var status = document.getElementById("bulk-status");
    var count = document.getElementById("bulk-count");
    var summary = document.getElementById("bulk-summary");
    var warning = document.getElementById("bulk-warning");
    var confirmBtn = document.getElementById("bulk-confirm");
    var selected = document.getElementById("selected-count");
    var danger = (dlg.getAttribute("data-danger") || "").split(/\s+/);
    function update() {
      var n = form.querySelectorAll('input[name="ids"]:checked').length;
      var opt = status.options[status.selectedIndex];
      var word = status.value ? opt.textContent : "";
      var sel = fill(dlg.getAttribute("data-selected"), { n: n });
      count.textContent = n === 0 ? dlg.getAttribute("data-none") : sel;
      if (selected) selected.textContent = n === 0 ? "" : sel;
      summary.textContent = n > 0 && word ? fill(dlg.getAttribute(n === 1 ? "data-one" : "data-many"), { n: n, status: word }) : "";
      warning.hidden = !(n > 0 && danger.indexOf(status.value) >= 0);
      confirmBtn.disabled = n === 0 || !status.value;
      confirmBtn.textContent = summary.textContent ? dlg.getAttribute("data-confirm-label").replace("{n}", n) : dlg.getAttribute("data-confirm-plain");
    }
    form.addEventListener("change", update);
    status.addEventListener("change", update);
    dlg.addEventListener("berth:open", function () { update(); status.focus(); });
    update();
  }

  // Batch upload with progress and per-file results.
  function setupUpload() {
    var form = document.getElementById("upload-form");
    if (!form) return;
    var files = document.getElementById("up-files");
    var chosen = document.getElementById("up-chosen");
    var wrap = document.getElementById("up-progress-wrap");
    var bar = document.getElementById("up-progress");
    var text = document.getElementById("up-progress-text");
    var errBox = document.getElementById("up-error");
    var results = document.getElementById("up-results");
    var rows = document.getElementById("up-rows");
    var sum = document.getElementById("up-summary");
    var submit = document.getElementById("up-submit");
    function msg(name, vars) { return fill(form.getAttribute("data-msg-" + name), vars || {}); }
    files.addEventListener("change", function () {
      chosen.textContent = files.files.length ? msg("chosen", { n: files.files.length }) : "";
    });
    function fail(s) {
      errBox.textContent = s;
      errBox.hidden = false;
      submit.disabled = false;
    }
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      if (!form.reportValidity()) return;
      errBox.hidden = true;
      results.hidden = true;
      rows.textContent = "";
      submit.disabled = true;
      wrap.hidden = false;
      bar.value = 0;
      text.textContent = msg("progress", { pct: 0 });
      var data = new FormData();
      data.append("script", document.getElementById("up-script").value.trim());
      var labels = document.getElementById("up-labels");
      if (labels && labels.value.trim()) data.append("labels", labels.value.trim());
      for (var i = 0; i < files.files.length; i++) data.append("files", files.files[i], files.files[i].name);
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.getAttribute("action"));
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.addEventListener("progress", function (e) {
        if (!e.lengthComputable) return;
        var pct = Math.round((e.loaded / e.total) * 100);
        bar.value = pct;
        text.textContent = msg("progress", { pct: pct });
      });
      xhr.upload.addEventListener("load", function () {
        bar.value = 100;
        text.textContent = msg("processing");
      });
      xhr.addEventListener("error", function () { wrap.hidden = true; fail(msg("network")); });
      xhr.addEventListener("load", function () {
        var body = null;
        try { body = JSON.parse(xhr.responseText); } catch (e) { body = null; }
        if (xhr.status !== 200 || !body || !body.items) {
          wrap.hidden = true;
          var detail = (body && (body.detail || body.title)) || String(xhr.status);
          fail(msg("failed", { detail: detail }));
          return;
        }
        reloadOnClose = true;
        bar.value = 100;
        text.textContent = "";
        wrap.hidden = true;
        body.items.forEach(function (it, i) {
          var tr = el("tr", null, it.status === "rejected" ? "fail" : "ok");
          tr.appendChild(el("td", i + 1));
          tr.appendChild(el("td", it.file || ""));
          var th = el("th", it.account || "");
          th.scope = "row";
          tr.appendChild(th);
          tr.appendChild(el("td", msg(it.status) || it.status));
          var where = "";
          if (it.status === "placed") where = it.reason || it.pool || "";
          else if (it.status === "queued") where = msg("position", { n: it.position || 0 }) + (it.reason ? " — " + it.reason : "");
          else where = it.error || it.reason || "";
          tr.appendChild(el("td", where, "reason"));
          rows.appendChild(tr);
        });
        sum.textContent = msg("summary", { total: body.items.length, placed: body.placed || 0, queued: body.queued || 0, rejected: body.rejected || 0 });
        results.hidden = false;
        submit.disabled = false;
        sum.focus && sum.setAttribute("tabindex", "-1");
        sum.focus();
      });
      xhr.send(data);
    });
  }

  // A table read from the JSON API (audit log, users).
  function when(v) {
    var m = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)/.exec(String(v || ""));
    return m ? m[1] + " " + m[2] + " UTC" : v;
  }
  function short(v) {
    if (v === undefined) return "—";
    var s = typeof v === "string" ? v : JSON.stringify(v);
    return s.length > 60 ? s.slice(0, 57) + "…" : s;
  }
  // changes lists what differs between before and after, one line a field
  // ("team-1 status: active → banned").
  function changes(b, a) {
    var out = [];
    function walk(path, x, y) {
      if (path === "" && (x === null || x === undefined)) {
        if (y !== null && y !== undefined) out.push(short(y));
        return;
      }
      if (x && y && typeof x === "object" && typeof y === "object") {
        var keys = {};
        Object.keys(x).forEach(function (k) { keys[k] = 1; });
        Object.keys(y).forEach(function (k) { keys[k] = 1; });
        Object.keys(keys).forEach(function (k) {
          if (k === "status_changed_at" || k === "updated_at") return;
          var name = k;
          if (Array.isArray(x) && x[k] && (x[k].name || x[k].member)) name = x[k].name || x[k].member;
          walk(path ? path + " " + name : name, x[k], y[k]);
        });
      } else if (JSON.stringify(x) !== JSON.stringify(y)) {
        out.push(path + ": " + short(x) + " → " + short(y));
      }
    }
    walk("", b, a);
    return out;
  }
  function setupAPITable() {
    var box = document.getElementById("api-table");
    if (!box) return;
    function m(name, vars) { return fill(box.getAttribute("data-msg-" + name), vars || {}); }
    function say(s, cls) {
      box.textContent = "";
      box.appendChild(el("p", s, cls || "empty"));
    }
    fetch(box.getAttribute("data-src"), { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) {
        if (r.status === 404) { say(m("missing")); return null; }
        if (r.status === 401 || r.status === 403) { say(m("denied"), "flash error"); return null; }
        if (!r.ok) { say(m("failed", { status: r.status }), "flash error"); return null; }
        return r.json();
      })
      .then(function (j) {
        if (j === null || j === undefined) return;
        var items = Array.isArray(j) ? j : (j.items || j.entries || j.users || []);
        if (!items.length) { say(m("empty")); return; }
        var diff = box.hasAttribute("data-diff");
        var wanted = (box.getAttribute("data-cols") || "").split(/\s+/).filter(Boolean);
        var cols = wanted.filter(function (c) { return c === "change" || items.some(function (it) { return it && it[c] !== undefined; }); });
        if (!cols.length) cols = Object.keys(items[0] || {});
        box.textContent = "";
        if (box.getAttribute("data-export")) {
          var p = el("p");
          var a = el("a", m("export"));
          a.href = box.getAttribute("data-export");
          a.setAttribute("download", "");
          p.appendChild(a);
          box.appendChild(p);
        }
        var wrap = el("div", null, "table-wrap");
        wrap.tabIndex = 0;
        wrap.setAttribute("role", "region");
        var t = el("table", null, "data");
        var cap = el("caption", fill(box.getAttribute("data-caption"), { n: items.length }));
        cap.id = "api-caption";
        wrap.setAttribute("aria-labelledby", "api-caption");
        t.appendChild(cap);
        var thead = el("thead"), hr = el("tr");
        cols.forEach(function (c) {
          var th = el("th", box.getAttribute("data-col-" + c) || c);
          th.scope = "col";
          hr.appendChild(th);
        });
        thead.appendChild(hr);
        t.appendChild(thead);
        var tb = el("tbody");
        items.forEach(function (it) {
          var tr = el("tr");
          cols.forEach(function (c) {
            var v = it ? it[c] : "";
            var td;
            if (c === "change") {
              td = el("td", null, "change");
              var lines = diff ? changes(it.before, it.after) : [];
              if (!lines.length && it.after) lines = [short(it.after)];
              lines.slice(0, 8).forEach(function (l) { td.appendChild(el("div", l)); });
              if (lines.length > 8) td.appendChild(el("div", "…"));
            } else if (/(^at$|_at$|_until$)/.test(c)) {
              td = el("td", v ? when(v) : "", "when");
            } else if (typeof v === "boolean") {
              td = el("td", m(v ? "yes" : "no"));
            } else if (box.hasAttribute("data-val-" + c + "-" + v)) {
              td = el("td", box.getAttribute("data-val-" + c + "-" + v));
            } else {
              if (v !== null && typeof v === "object") v = JSON.stringify(v);
              td = el("td", v === undefined || v === null ? "" : v);
            }
            tr.appendChild(td);
          });
          tb.appendChild(tr);
        });
        t.appendChild(tb);
        wrap.appendChild(t);
        box.appendChild(wrap);
        document.querySelectorAll("select[data-users]").forEach(function (sel) {
          var keep = sel.value;
          sel.textContent = "";
          items.forEach(function (u) {
            var o = el("option", u.username || u.name);
            o.value = u.id;
            sel.appendChild(o);
          });
          if (keep) sel.value = keep;
        });
      })
      .catch(function () { say(m("failed", { status: "network" }), "flash error"); });
  }

  // Forms sent as JSON to the API (users): empty fields are left out, so
  // they stay as they are; data-path fields fill {name} in the address.
  function setupAPIForms() {
    document.querySelectorAll("form.api-form").forEach(function (form) {
      var result = form.querySelector(".form-result");
      form.addEventListener("submit", function (ev) {
        ev.preventDefault();
        var url = form.getAttribute("data-url");
        var body = {};
        Array.prototype.forEach.call(form.elements, function (f) {
          if (!f.name || f.value === "") return;
          if (f.hasAttribute("data-path")) { url = url.replace("{" + f.name + "}", encodeURIComponent(f.value)); return; }
          body[f.name] = f.getAttribute("data-type") === "bool" ? f.value === "true" : f.value;
        });
        result.hidden = true;
        fetch(url, { method: form.getAttribute("data-method"), credentials: "same-origin",
          headers: { "Content-Type": "application/json", Accept: "application/json" }, body: JSON.stringify(body) })
          .then(function (r) {
            return r.json().catch(function () { return {}; }).then(function (j) { return { ok: r.ok, status: r.status, j: j }; });
          })
          .then(function (res) {
            result.hidden = false;
            if (res.ok) {
              result.className = "form-result flash ok";
              result.textContent = form.getAttribute("data-msg-ok");
              form.querySelectorAll('input[type="password"], input[name="name"]').forEach(function (i) { i.value = ""; });
              setupAPITable();
            } else {
              result.className = "form-result flash error";
              result.textContent = fill(form.getAttribute("data-msg-failed"), { detail: (res.j && (res.j.detail || res.j.title)) || res.status });
            }
          })
          .catch(function () {
            result.hidden = false;
            result.className = "form-result flash error";
            result.textContent = fill(form.getAttribute("data-msg-failed"), { detail: "network" });
          });
      });
    });
  }

  // A drain's progress page: read its JSON every data-refresh seconds,
  // update the counts and stop once nothing is pending.
  function setupDrain() {
    var box = document.querySelector("[data-drain-progress]");
    if (!box) return;
    var url = box.getAttribute("data-drain-progress");
    var every = (parseInt(box.getAttribute("data-refresh"), 10) || 3) * 1000;
    function tick() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.json(); })
        .then(function (j) {
          box.querySelectorAll("[data-drain-field]").forEach(function (e) {
            var k = e.getAttribute("data-drain-field");
            // A migration's row of one pool (data-drain-pool) reads that
            // pool's entry of j.pools; everything else the totals.
            var row = e.closest("[data-drain-pool]"), src = j;
            if (row) {
              src = (j.pools || []).filter(function (p) { return p.pool === row.getAttribute("data-drain-pool"); })[0] || {};
            }
            if (Object.prototype.hasOwnProperty.call(src, k)) e.textContent = String(src[k]);
            if (k === "failed") e.classList.toggle("bad", src[k] > 0);
          });
          if (j.done) {
            var st = box.querySelector("[data-drain-state]");
            if (st) st.textContent = st.getAttribute("data-done");
            return;
          }
          setTimeout(tick, every);
        })
        .catch(function () { setTimeout(tick, every * 2); });
    }
    setTimeout(tick, every);
  }

  // A page waiting for a job's answer (a pool's connection test) reloads
  // itself every data-reload-every seconds; the page with the answer has none.
  function setupReload() {
    var box = document.querySelector("[data-reload-every]");
    if (!box) return;
    var every = (parseInt(box.getAttribute("data-reload-every"), 10) || 2) * 1000;
    setTimeout(function () { window.location.reload(); }, every);
  }

  // The pool form shows only the selected provider type's settings (all
  // of them without scripts; the server reads the selected type's only).
  function setupPoolForm() {
    var sel = document.getElementById("pf-type");
    if (!sel) return;
    function show() {
      document.querySelectorAll("fieldset[data-provider]").forEach(function (f) {
        f.hidden = f.getAttribute("data-provider") !== sel.value;
      });
    }
    sel.addEventListener("change", show);
    show();
  }

  document.addEventListener("DOMContentLoaded", function () {
    setupBulk();
    setupPoolForm();
    setupDrain();
    setupReload();
    setupUpload();
    setupAPITable();
    setupAPIForms();
  });
})();
