// rrdash page: the graph builder, on app.js's window.rrdash. User
// strings only ever go through textContent or DOM attribute values.
"use strict";

(function (rr) {
  const { $, api, state, reloaders, reloadAll, getChart, loadChart, drawChart, withAnnotations, setStatus, markRange, b64url } = rr;

  function initBuilder() {
    const lines = $("spec-lines"), title = $("spec-title"), vlabel = $("spec-vlabel"), box = $("validation");
    let current = null;
    if (state.spec) {
      title.value = state.spec.title || "";
      vlabel.value = state.spec.vlabel || "";
    }
    if (state.lines) lines.value = state.lines.join("\n");

    function currentLines() { return lines.value.split("\n"); }

    function showError(err) {
      box.replaceChildren();
      box.className = "validation error";
      const msg = document.createElement("div");
      msg.id = "validation-message";
      msg.textContent = err.error;
      box.appendChild(msg);
      // The message names the place once ("line 2:10: …"); under it the
      // line itself, with a caret at the column when there is one.
      if (typeof err.line === "number" && err.line >= 0) {
        const text = currentLines()[err.line] || "";
        const l = document.createElement("pre");
        l.className = "bad-line";
        const m = /^line \d+:(\d+):/.exec(err.error || "");
        l.textContent = text + (m ? "\n" + " ".repeat(Math.max(0, +m[1] - 1)) + "^" : "");
        box.appendChild(l);
      }
    }

    // The empty state: what to do, and a preview of an example drawn from
    // a series in the store, which one click puts in the box.
    let example = null;
    async function exampleLines() {
      if (example) return example;
      const res = await api("GET", "/api/v1/series?q=");
      const names = res.series.map(function (x) { return x.name; });
      const name = names.find(function (n) { return n.startsWith("tracelog."); }) || names[0];
      if (!name) return null;
      const si = await api("GET", "/api/v1/series/info?name=" + encodeURIComponent(name));
      const ds = si.ds.indexOf("requests") >= 0 ? "requests" : si.ds[0];
      const cf = si.cf.indexOf("AVERAGE") >= 0 ? "AVERAGE" : si.cf[0];
      example = ["DEF:v=" + name.replace(/:/g, "\\:") + ":" + ds + ":" + cf, "VDEF:vmax=v,MAXIMUM",
        "LINE1:v#1f77b4:" + ds, "GPRINT:vmax:max %6.2lf %s"];
      return example;
    }
    async function showEmpty() {
      current = null;
      box.replaceChildren();
      box.className = "validation empty-state";
      const p = document.createElement("div");
      p.id = "empty-guide";
      p.textContent = "Nothing to draw yet. Pick a series in the tree on the left (its data sources add DEF and LINE lines), " +
        "type lines such as DEF:name=series:ds:AVERAGE and LINE1:name#1f77b4:legend, or paste an rrdtool graph command below.";
      box.appendChild(p);
      let ex = null;
      try { ex = await exampleLines(); } catch (e) { ex = null; }
      if (!ex || currentLines().some(function (l) { return l.trim(); })) return;
      const pre = document.createElement("pre");
      pre.className = "example";
      pre.textContent = ex.join("\n");
      const use = document.createElement("button");
      use.type = "button";
      use.id = "use-example";
      use.textContent = "use this example";
      use.addEventListener("click", function () { lines.value = ex.join("\n"); validate(); });
      const cap = document.createElement("div");
      cap.textContent = "The preview below shows this example:";
      box.append(cap, pre, use);
      try {
        const r = await api("POST", "/api/v1/validate", { title: "", vlabel: "", lines: ex, start: rr.range.from, end: rr.range.to });
        if (r.ok && !currentLines().some(function (l) { return l.trim(); })) await loadChart("preview", r.spec);
      } catch (e) { /* the guide stands without a preview */ }
    }

    let seq = 0;
    async function validate() {
      const my = ++seq;
      if (!currentLines().some(function (l) { return l.trim(); })) { await showEmpty(); return; }
      let res;
      try {
        res = await api("POST", "/api/v1/validate", { title: title.value, vlabel: vlabel.value, lines: currentLines(), start: rr.range.from, end: rr.range.to });
      } catch (e) {
        res = { ok: false, error: (e.data && e.data.error) ? e.data : { error: e.message } };
      }
      if (my !== seq) return;
      if (!res.ok) {
        current = null;
        showError(res.error);
        return;
      }
      current = res.spec;
      box.className = "validation ok";
      box.textContent = "✓ valid" + (res.warnings && res.warnings.length ? " — " + res.warnings.join("; ") : "");
      if (current.items && current.items.length) {
        await loadChart("preview", current);
      }
      const share = $("builder-share");
      const u = new URL("/view", location.href);
      u.searchParams.set("spec", b64url(JSON.stringify(current)));
      u.searchParams.set("from", rr.range.from);
      u.searchParams.set("to", rr.range.to);
      share.setAttribute("href", u.pathname + u.search);
    }
    let timer = null;
    function later() { clearTimeout(timer); timer = setTimeout(validate, 300); }
    lines.addEventListener("input", later);
    title.addEventListener("input", later);
    vlabel.addEventListener("input", later);
    reloaders.push(validate);

    function addLine(text) {
      const v = lines.value.replace(/\s+$/, "");
      lines.value = (v ? v + "\n" : "") + text;
      later();
    }
    for (const b of document.querySelectorAll(".add-lines button")) {
      b.addEventListener("click", function () { addLine(b.dataset.template); });
    }

    // The series tree: Graphite-style by name segments (/metrics/find),
    // the data sources as leaves; and the tags, whose values search.
    async function treeLevel(ul, query) {
      let nodes;
      try { nodes = await api("GET", "/metrics/find?query=" + encodeURIComponent(query)); } catch (e) {
        const li = document.createElement("li");
        li.className = "error";
        li.textContent = e.message;
        ul.appendChild(li);
        return;
      }
      for (const n of nodes) {
        const li = document.createElement("li");
        const b = document.createElement("button");
        b.type = "button";
        b.dataset.id = n.id;
        if (n.leaf) {
          // series.ds: a DS name never holds a dot.
          const k = n.id.lastIndexOf(".");
          b.className = "tree-leaf";
          b.textContent = n.text;
          b.addEventListener("click", function () { showSeries(n.id.slice(0, k)); });
          li.appendChild(b);
        } else {
          b.className = "tree-branch";
          b.textContent = "▸ " + n.text;
          const sub = document.createElement("ul");
          sub.hidden = true;
          b.addEventListener("click", async function () {
            if (!sub.dataset.loaded) { sub.dataset.loaded = "1"; await treeLevel(sub, n.id + ".*"); }
            sub.hidden = !sub.hidden;
            b.textContent = (sub.hidden ? "▸ " : "▾ ") + n.text;
          });
          li.append(b, sub);
        }
        ul.appendChild(li);
      }
    }
    async function tagList() {
      const ul = $("tag-tree");
      let tags;
      try { tags = await api("GET", "/tags"); } catch (e) { return; }
      for (const t of tags) {
        const li = document.createElement("li");
        const b = document.createElement("button");
        b.type = "button";
        b.className = "tree-branch";
        b.textContent = "▸ " + t.tag;
        const sub = document.createElement("ul");
        sub.hidden = true;
        b.addEventListener("click", async function () {
          if (!sub.dataset.loaded) {
            sub.dataset.loaded = "1";
            const vals = await api("GET", "/tags/" + encodeURIComponent(t.tag));
            for (const v of vals.values || []) {
              const vl = document.createElement("li");
              const vb = document.createElement("button");
              vb.type = "button";
              vb.className = "tree-leaf";
              vb.textContent = v.value + " (" + v.count + ")";
              vb.addEventListener("click", function () { q.value = t.tag + "=" + v.value; search(); });
              vl.appendChild(vb);
              sub.appendChild(vl);
            }
          }
          sub.hidden = !sub.hidden;
          b.textContent = (sub.hidden ? "▸ " : "▾ ") + t.tag;
        });
        li.append(b, sub);
        ul.appendChild(li);
      }
      $("tags-section").hidden = !tags.length;
    }
    treeLevel($("series-tree"), "*");
    tagList();

    // Series search.
    const q = $("series-q"), results = $("series-results"), info = $("series-info");
    let qtimer = null;
    q.addEventListener("input", function () {
      clearTimeout(qtimer);
      qtimer = setTimeout(search, 200);
    });
    async function search() {
      const u = new URL("/api/v1/series", location.href);
      const words = q.value.trim().split(/\s+/).filter(Boolean);
      let prefix = "";
      for (const w of words) {
        // tag expressions as seriesByTag: k=v, k=glob*, k!=v, k=~re, k!=~re, name=…
        if (w.includes("=")) u.searchParams.append("match", w); else prefix = w;
      }
      u.searchParams.set("q", prefix);
      let res;
      try { res = await api("GET", u.pathname + u.search); } catch (e) {
        results.replaceChildren();
        const li = document.createElement("li");
        li.className = "error";
        li.textContent = e.message;
        results.appendChild(li);
        return;
      }
      results.replaceChildren();
      for (const s of res.series) {
        const li = document.createElement("li");
        const b = document.createElement("button");
        b.type = "button";
        b.className = "series";
        b.textContent = s.name;
        b.addEventListener("click", function () { showSeries(s.name); });
        li.appendChild(b);
        results.appendChild(li);
      }
      if (res.truncated) {
        const li = document.createElement("li");
        li.textContent = "… more: refine the search";
        results.appendChild(li);
      }
    }
    const palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"];
    let added = 0;
    async function showSeries(name) {
      let si;
      try { si = await api("GET", "/api/v1/series/info?name=" + encodeURIComponent(name)); } catch (e) { info.textContent = e.message; return; }
      info.replaceChildren();
      const h = document.createElement("h3");
      h.textContent = name;
      info.appendChild(h);
      const cf = document.createElement("select");
      cf.id = "series-cf";
      for (const c of si.cf) {
        const o = document.createElement("option");
        o.value = c; o.textContent = c;
        cf.appendChild(o);
      }
      info.appendChild(cf);
      const ul = document.createElement("ul");
      for (const ds of si.ds) {
        const li = document.createElement("li");
        const b = document.createElement("button");
        b.type = "button";
        b.className = "add-def";
        b.dataset.ds = ds;
        b.textContent = "+ " + ds;
        b.addEventListener("click", function () {
          const existing = currentLines().join("\n");
          let v = ds.replace(/[^A-Za-z0-9_-]/g, "_");
          let i = 2;
          while (new RegExp("^[CV]?DEF:" + v + "=", "m").test(existing)) v = ds.replace(/[^A-Za-z0-9_-]/g, "_") + "_" + (i++);
          addLine("DEF:" + v + "=" + name.replace(/:/g, "\\:") + ":" + ds + ":" + cf.value);
          addLine("LINE1:" + v + palette[added++ % palette.length] + ":" + ds);
        });
        li.appendChild(b);
        ul.appendChild(li);
      }
      info.appendChild(ul);
      // delete and rename: only for who may (the server says, and checks again)
      if (si.may_change) info.appendChild(manageControls(name));
    }

    // manageControls: rename… and delete… each ask for a confirmation
    // before they call the API (DELETE /api/v1/series, POST
    // /api/v1/series/rename; api() sends the CSRF token).
    function manageControls(name) {
      const box = document.createElement("div");
      box.className = "series-manage";
      function button(id, text, onclick) {
        const b = document.createElement("button");
        b.type = "button"; b.id = id; b.textContent = text;
        b.addEventListener("click", onclick);
        return b;
      }
      const msg = document.createElement("p");
      msg.id = "series-manage-msg";
      msg.setAttribute("aria-live", "polite");
      const ask = document.createElement("div");
      ask.className = "series-confirm";
      ask.hidden = true;
      function confirmStep(text, yesText, action) {
        ask.replaceChildren();
        const p = document.createElement("p");
        p.id = "series-confirm-text";
        p.textContent = text;
        ask.append(p, button("series-confirm-yes", yesText, async function () {
          ask.hidden = true;
          try { await action(); } catch (e) { msg.className = "error"; msg.textContent = e.message; }
        }), button("series-confirm-cancel", "cancel", function () { ask.hidden = true; ask.replaceChildren(); }));
        ask.hidden = false;
      }
      const del = button("series-delete", "delete…", function () {
        msg.textContent = "";
        confirmStep("Delete " + name + " and all its data for good?", "yes, delete", async function () {
          await api("DELETE", "/api/v1/series?name=" + encodeURIComponent(name));
          info.replaceChildren();
          const p = document.createElement("p");
          p.id = "series-manage-msg";
          p.textContent = "deleted " + name;
          info.appendChild(p);
          refreshLists();
        });
      });
      del.className = "danger";
      const ren = button("series-rename", "rename…", function () {
        msg.textContent = "";
        ask.replaceChildren();
        const input = document.createElement("input");
        input.type = "text"; input.id = "series-new-name"; input.value = name;
        input.setAttribute("aria-label", "new name");
        ask.append(input, button("series-rename-go", "rename", function () {
          const to = input.value.trim();
          if (!to || to === name) { msg.className = "error"; msg.textContent = "give a new name"; return; }
          confirmStep("Rename " + name + " to " + to + "?", "yes, rename", async function () {
            await api("POST", "/api/v1/series/rename", { old: name, new: to });
            await showSeries(to);
            const m = $("series-manage-msg");
            if (m) m.textContent = "renamed " + name + " to " + to;
            refreshLists();
          });
        }), button("series-confirm-cancel", "cancel", function () { ask.hidden = true; ask.replaceChildren(); }));
        ask.hidden = false;
        input.focus();
      });
      box.append(ren, del, ask, msg);
      return box;
    }

    // refreshLists redraws the search results and the tree after a change.
    function refreshLists() {
      if (q.value.trim()) search();
      const tree = $("series-tree");
      tree.replaceChildren();
      treeLevel(tree, "*");
    }

    $("paste-apply").addEventListener("click", async function () {
      try {
        const res = await api("POST", "/api/v1/parse", { command: $("paste-command").value });
        title.value = res.spec.title || "";
        vlabel.value = res.spec.vlabel || "";
        lines.value = res.lines.join("\n");
        if (res.spec.start || res.spec.end) {
          rr.range = { from: res.spec.start || "end-1d", to: res.spec.end || "now" };
          markRange();
        }
        validate();
      } catch (e) {
        showError(e.data || { error: e.message });
      }
    });

    $("save-graph").addEventListener("click", async function () {
      await validate();
      if (!current) return;
      const t = title.value.trim() || prompt("Title for this graph?") || "";
      if (!t) return;
      const spec = Object.assign({}, current, { title: t, start: rr.range.from, end: rr.range.to });
      try {
        const g = state.edit
          ? await api("PUT", "/api/v1/graphs/" + encodeURIComponent(state.edit), { title: t, spec: spec })
          : await api("POST", "/api/v1/graphs", { title: t, spec: spec });
        location.href = g.url;
      } catch (e) {
        showError(e.data || { error: e.message });
      }
    });
    validate();
  }

  rr.pages.builder = initBuilder;
})(window.rrdash);
