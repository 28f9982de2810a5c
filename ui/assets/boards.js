// rrdash pages: user dashboards (view and edit), on app.js's window.rrdash. User
// strings only ever go through textContent or DOM attribute values.
"use strict";

(function (rr) {
  const { $, api, state, reloaders, reloadAll, getChart, loadChart, drawChart, withAnnotations, setStatus, markRange, b64url } = rr;

  // initBoard: a user dashboard; every panel is a saved graph drawn over
  // the page's range.
  function initBoard() {
    const share = $("share-url"), live = $("live-link");
    let last = null;
    function updateShare() {
      const u = new URL(share.value || location.href, location.href);
      if (live.checked || !last) {
        u.searchParams.set("from", rr.range.from);
        u.searchParams.set("to", rr.range.to);
      } else {
        u.searchParams.set("from", String(last.start));
        u.searchParams.set("to", String(last.end));
      }
      if (new URLSearchParams(location.search).get("tz")) u.searchParams.set("tz", rr.zone);
      share.value = u.toString();
    }
    // Template variables: one chooser each; the choice goes in the URL
    // (var-NAME) and into every panel's series.
    // The URL holds the choice (so Back/Forward restore it), else the
    // first value.
    function chosenVars() {
      const q = new URLSearchParams(location.search), out = {};
      for (const v of state.variables || []) {
        out[v.name] = q.get("var-" + v.name) || v.values[0] || "";
        const sel = $("var-" + v.name);
        if (sel && sel.value !== out[v.name]) sel.value = out[v.name];
      }
      return out;
    }
    const bar = $("board-vars");
    for (const v of state.variables || []) {
      const l = document.createElement("label");
      l.textContent = "$" + v.name + " ";
      const sel = document.createElement("select");
      sel.id = "var-" + v.name;
      for (const val of v.values) {
        const o = document.createElement("option");
        o.value = val; o.textContent = val;
        sel.appendChild(o);
      }
      sel.value = v.value;
      sel.addEventListener("change", function () {
        const u = new URL(location.href);
        u.searchParams.set("var-" + v.name, sel.value);
        if (u.toString() !== location.href) history.pushState({ range: rr.range }, "", u.toString());
        const s = new URL(share.value, location.href);
        s.searchParams.set("var-" + v.name, sel.value);
        share.value = s.toString();
        reloadAll();
      });
      l.appendChild(sel);
      bar.appendChild(l);
    }
    state.panels = state.panels || [];
    state.panels.forEach(function (p, n) {
      reloaders.push(async function () {
        const u = new URL("/api/v1/dashboards/" + encodeURIComponent(state.board) + "/panels/" + n + "/chart", location.href);
        const chosen = chosenVars();
        for (const k of Object.keys(chosen)) u.searchParams.set("var-" + k, chosen[k]);
        const ch = await getChart(p.id, u.pathname + u.search);
        if (ch && n === 0) { last = ch; updateShare(); }
      });
    });
    live.addEventListener("change", updateShare);
    $("copy-link").addEventListener("click", async function () {
      try { await navigator.clipboard.writeText(share.value); } catch (e) { share.select(); document.execCommand("copy"); }
      $("copy-link").textContent = "copied";
      setTimeout(function () { $("copy-link").textContent = "copy link"; }, 1500);
    });
    const del = $("delete-board");
    if (del) {
      del.addEventListener("click", async function () {
        if (!confirm("Delete this dashboard? Its graphs stay.")) return;
        try {
          await api("DELETE", "/api/v1/dashboards/" + encodeURIComponent(del.dataset.id));
          location.href = "/dashboards";
        } catch (e) { alert(e.message); }
      });
    }
    const cp = $("copy-board");
    cp.addEventListener("click", async function () {
      try {
        const d = await api("POST", "/api/v1/dashboards/" + encodeURIComponent(cp.dataset.id) + "/copy", {});
        location.href = d.url;
      } catch (e) { alert(e.message); }
    });
    reloadAll();
  }

  // initBoardEdit: the form of a new or the owner's dashboard.
  function initBoardEdit() {
    const def = state.definition || { panels: [] };
    const graphs = state.graphs || [];
    const byID = {};
    for (const g of graphs) byID[g.id] = g;
    const list = $("board-panels"), add = $("board-add-graph"), cols = $("board-columns"), tzSel = $("board-tz");
    $("board-title-input").value = state.title || "";
    $("board-from").value = def.from || "";
    $("board-to").value = def.to || "";
    cols.value = String(def.columns || 2);
    // Variables, one a line: "host glob tracelog.*" or "dc tag dc".
    const varsBox = $("board-vars-input");
    varsBox.value = (def.variables || []).map(function (v) { return v.name + (v.glob ? " glob " + v.glob : " tag " + v.tag); }).join("\n");
    const zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
    for (const z of ["UTC"].concat(zones.filter(function (z) { return z !== "UTC"; }))) {
      const o = document.createElement("option");
      o.value = z; o.textContent = z;
      tzSel.appendChild(o);
    }
    tzSel.value = def.tz || "";
    for (const g of graphs) {
      const o = document.createElement("option");
      o.value = g.id;
      o.textContent = g.title + " (" + g.owner + ")";
      add.appendChild(o);
    }
    function addPanel(p) {
      const li = document.createElement("li");
      li.dataset.graph = p.graph;
      const name = document.createElement("a");
      name.href = "/g/" + encodeURIComponent(p.graph);
      name.textContent = byID[p.graph] ? byID[p.graph].title : p.graph;
      const span = document.createElement("select");
      span.className = "panel-span";
      for (let i = 1; i <= 4; i++) {
        const o = document.createElement("option");
        o.value = String(i); o.textContent = i + " column" + (i > 1 ? "s" : "") + " wide";
        span.appendChild(o);
      }
      span.value = String(p.span || 1);
      const up = document.createElement("button");
      up.type = "button"; up.textContent = "↑"; up.title = "move up";
      up.addEventListener("click", function () { if (li.previousElementSibling) list.insertBefore(li, li.previousElementSibling); });
      const rm = document.createElement("button");
      rm.type = "button"; rm.className = "panel-remove"; rm.textContent = "remove";
      rm.addEventListener("click", function () { li.remove(); });
      li.append(name, span, up, rm);
      list.appendChild(li);
    }
    for (const p of def.panels || []) addPanel(p);
    $("board-add").addEventListener("click", function () { if (add.value) addPanel({ graph: add.value, span: 1 }); });
    $("board-form").addEventListener("submit", async function (ev) {
      ev.preventDefault();
      const box = $("board-error");
      const variables = [];
      for (const line of varsBox.value.split("\n")) {
        const w = line.trim().split(/\s+/);
        if (!w[0]) continue;
        if (w.length !== 3 || (w[1] !== "glob" && w[1] !== "tag")) {
          box.className = "validation error";
          box.textContent = "variable line “" + line.trim() + "”: want NAME glob GLOB or NAME tag TAG";
          return;
        }
        const v = { name: w[0].replace(/^\$/, "") };
        v[w[1]] = w[2];
        variables.push(v);
      }
      const body = {
        title: $("board-title-input").value,
        definition: {
          from: $("board-from").value.trim(),
          to: $("board-to").value.trim(),
          tz: tzSel.value,
          columns: +cols.value,
          variables: variables,
          panels: Array.from(list.children).map(function (li) {
            return { graph: li.dataset.graph, span: Math.min(+li.querySelector(".panel-span").value, +cols.value) };
          }),
        },
      };
      try {
        const d = state.edit
          ? await api("PUT", "/api/v1/dashboards/" + encodeURIComponent(state.edit), body)
          : await api("POST", "/api/v1/dashboards", body);
        location.href = d.url;
      } catch (e) {
        box.className = "validation error";
        box.textContent = e.message;
      }
    });
  }

  rr.pages.board = initBoard;
  rr.pages["board-edit"] = initBoardEdit;
})(window.rrdash);
