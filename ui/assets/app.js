// rrdash pages. User-provided strings are only ever set with textContent
// or as attribute values through the DOM, never as HTML.
"use strict";

(function () {
  const page = document.body.dataset.page;
  let state = {};
  try { state = JSON.parse(document.body.dataset.state || "{}") || {}; } catch (e) { state = {}; }
  let range = state.range || { from: "-1d", to: "now" };
  const reloaders = [];

  function $(id) { return document.getElementById(id); }

  // The CSRF token (the session's, or the single-user mode's) goes with every write.
  const csrfMeta = document.querySelector('meta[name="csrf-token"]');
  const csrf = csrfMeta ? csrfMeta.content : "";

  async function api(method, url, body) {
    const opt = { method: method, headers: {}, credentials: "same-origin" };
    if (csrf && method !== "GET" && method !== "HEAD") opt.headers["X-CSRF-Token"] = csrf;
    if (body !== undefined) {
      opt.headers["Content-Type"] = "application/json";
      opt.body = JSON.stringify(body);
    }
    const r = await fetch(url, opt);
    let data = null;
    const text = await r.text();
    if (text) { try { data = JSON.parse(text); } catch (e) { data = { error: text }; } }
    if (!r.ok) {
      const err = new Error((data && data.error) || r.statusText);
      err.data = data;
      throw err;
    }
    return data;
  }

  // One time zone for every axis, tooltip, input and timestamp: the URL's
  // tz (shared links), else the browser's.
  const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  let zone = browserZone;
  const wantZone = new URLSearchParams(location.search).get("tz");
  if (wantZone) {
    try {
      zone = new Intl.DateTimeFormat("en-US", { timeZone: wantZone }).resolvedOptions().timeZone;
    } catch (e) {
      zone = browserZone;
      console.warn("unknown time zone in the URL: " + wantZone + "; using " + browserZone);
    }
  }
  const wallFmt = new Intl.DateTimeFormat("en-US", {
    timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit",
  });

  // wall is the date and clock in the zone at ms (Unix milliseconds).
  function wall(ms) {
    const p = {};
    for (const x of wallFmt.formatToParts(new Date(ms))) p[x.type] = x.value;
    if (p.hour === "24") p.hour = "00";
    return p;
  }

  // zoneOffset is the zone's offset from UTC at ms, in milliseconds.
  function zoneOffset(ms) {
    const p = wall(ms);
    return Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second) - Math.floor(ms / 1000) * 1000;
  }

  // offsetLabel: "UTC" or "UTC+09:00" at ms.
  function offsetLabel(ms) {
    const m = Math.round(zoneOffset(ms) / 60000);
    if (m === 0) return "UTC";
    const a = Math.abs(m);
    return "UTC" + (m < 0 ? "-" : "+") + String(Math.floor(a / 60)).padStart(2, "0") + ":" + String(a % 60).padStart(2, "0");
  }

  // zoneLabel names the zone and its offset at ms: "Asia/Tokyo UTC+09:00".
  function zoneLabel(ms) {
    const off = offsetLabel(ms);
    return zone === "UTC" || zone === "Etc/UTC" ? off : zone + " " + off;
  }

  // fmtDate is ISO 8601 in the zone: YYYY-MM-DD HH:MM (":SS" with sec).
  function fmtDate(ms, sec) {
    const p = wall(ms);
    return p.year + "-" + p.month + "-" + p.day + " " + p.hour + ":" + p.minute + (sec ? ":" + p.second : "");
  }

  function fmtTime(sec) { return fmtDate(sec * 1000); }

  // parseDate reads "YYYY-MM-DD HH:MM" (or with T) as a time in the zone;
  // NaN when malformed.
  function parseDate(str) {
    const m = /^\s*(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?\s*$/.exec(str);
    if (!m) return NaN;
    const guess = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] || 0));
    if (isNaN(guess)) return NaN;
    // The offset at the guess, then at the result (across a DST change).
    const t = guess - zoneOffset(guess);
    return guess - zoneOffset(t);
  }

  // fmtValue: a tooltip value, 4 significant digits.
  function fmtValue(v) {
    if (v === null || v === undefined || v === "-" || (typeof v === "number" && isNaN(v))) return "–";
    if (typeof v !== "number") return String(v);
    if (v !== 0 && (Math.abs(v) >= 1e6 || Math.abs(v) < 1e-3)) return v.toExponential(3);
    return String(+v.toPrecision(4));
  }

  // zoneChart makes a chart's time axis and tooltip speak the zone.
  function zoneChart(ch) {
    const span = (ch.end - ch.start) * 1000;
    for (const ax of [].concat(ch.options.xAxis || [])) {
      if (ax.type !== "time") continue;
      ax.axisLabel = Object.assign({}, ax.axisLabel, {
        hideOverlap: true,
        formatter: function (v) {
          const s = fmtDate(v);
          if (span <= 2 * 86400000) return s.slice(11);
          if (span <= 90 * 86400000) return s.slice(5);
          return s.slice(0, 10);
        },
      });
      ax.name = offsetLabel(ch.end * 1000);
      // Under the first tick labels, above the zoom slider.
      ax.nameLocation = "start";
      ax.nameGap = 0;
      ax.nameTextStyle = { fontSize: 10, color: "#667", align: "left", verticalAlign: "top", padding: [21, 0, 0, 0] };
    }
    for (const tip of [].concat(ch.options.tooltip || [])) {
      tip.formatter = function (params) {
        const ps = [].concat(params);
        if (!ps.length) return "";
        const t = Array.isArray(ps[0].value) ? ps[0].value[0] : ps[0].axisValue;
        let out = fmtDate(t) + " " + zoneLabel(t);
        for (const p of ps) {
          out += "\n" + p.marker + p.seriesName + ": " + fmtValue(Array.isArray(p.value) ? p.value[1] : p.value);
        }
        return out;
      };
    }
  }

  // zoneTimes rewrites the server's UTC <time> elements and zone names
  // in the zone.
  function zoneTimes() {
    for (const el of document.querySelectorAll("time[datetime]")) {
      const ms = Date.parse(el.getAttribute("datetime"));
      if (isNaN(ms)) continue;
      el.textContent = fmtDate(ms, el.dataset.sec === "1") + (el.dataset.zone === "1" ? " " + zoneLabel(ms) : "");
      el.title = new Date(ms).toISOString();
    }
    for (const el of document.querySelectorAll(".tz-name")) el.textContent = zoneLabel(Date.now());
  }

  // zonedStamp shows an RFC 3339 time from the API in the zone.
  function zonedStamp(s) {
    const ms = Date.parse(s);
    return isNaN(ms) ? String(s || "") : fmtDate(ms) + " " + zoneLabel(ms);
  }

  // initZoneSelect fills the header's zone chooser; a choice goes in the
  // URL (tz) so a shared link shows the same times.
  function initZoneSelect() {
    const sel = $("tz-select");
    if (!sel) return;
    const zones = [browserZone, "UTC"];
    if (zones.indexOf(zone) < 0) zones.push(zone);
    const all = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
    for (const z of all) if (zones.indexOf(z) < 0) zones.push(z);
    for (const z of zones) {
      const o = document.createElement("option");
      o.value = z;
      o.textContent = z === browserZone ? z + " (browser)" : z;
      sel.appendChild(o);
    }
    sel.value = zone;
    sel.addEventListener("change", function () {
      const u = new URL(location.href);
      if (sel.value === browserZone) u.searchParams.delete("tz");
      else u.searchParams.set("tz", sel.value);
      location.assign(u.toString());
    });
  }

  // drawChart renders a chart response into the chart box with the given id.
  function drawChart(id, ch) {
    const el = $("chart-" + id);
    if (!el) return;
    if (typeof echarts === "undefined") {
      setStatus(id, "echarts.min.js is not available (build with make)", true);
      return;
    }
    const inst = echarts.getInstanceByDom(el) || echarts.init(el, null, { renderer: "canvas" });
    // Canvas-drawn tooltips: echarts' HTML tooltips carry style
    // attributes, which the Content-Security-Policy does not allow.
    for (const tip of [].concat(ch.options.tooltip || [])) tip.renderMode = "richText";
    zoneChart(ch);
    inst.setOption(ch.options, true);
    const lg = $("legend-" + id);
    if (lg) {
      lg.replaceChildren();
      let row = null, line = -1;
      for (const e of ch.legend || []) {
        // rrdtool's legend lines, as graph's layout placed them
        if (!row || e.line !== line) {
          line = e.line;
          row = document.createElement("div");
          row.className = "legend-row";
          lg.appendChild(row);
        }
        if (e.color) {
          const sw = document.createElement("span");
          sw.className = "swatch";
          sw.style.background = e.color;
          row.appendChild(sw);
        }
        const t = document.createElement("span");
        t.className = "legend-text";
        t.textContent = e.text;
        row.appendChild(t);
      }
    }
    setStatus(id, ch.resolution + " · " + fmtTime(ch.start) + " – " + fmtTime(ch.end) + " " + zoneLabel(ch.end * 1000), false);
    fillCustomRange(ch);
    el.dataset.start = ch.start;
    el.dataset.end = ch.end;
    el.dataset.drawn = "1";
  }

  function setStatus(id, text, isError) {
    const st = $("status-" + id);
    if (!st) return;
    st.textContent = text;
    st.classList.toggle("error", !!isError);
  }

  async function loadChart(id, spec) {
    const el = $("chart-" + id);
    const width = el ? Math.max(200, el.clientWidth) : 800;
    try {
      const ch = await api("POST", "/api/v1/chart", { spec: spec, from: range.from, to: range.to, width: width });
      drawChart(id, ch);
      return ch;
    } catch (e) {
      setStatus(id, e.message, true);
      return null;
    }
  }

  function reloadAll() { for (const f of reloaders) f(); }

  function setURLRange() {
    const u = new URL(location.href);
    u.searchParams.set("from", range.from);
    u.searchParams.set("to", range.to);
    history.replaceState(null, "", u.toString());
  }

  // "now-1d" is "-1d"; an empty end is "now".
  function normTime(v) {
    v = String(v || "now").trim();
    return v.startsWith("now-") ? v.slice(3) : v;
  }

  // markRange highlights the range button of the current range (none
  // for a custom range).
  function markRange() {
    for (const b of document.querySelectorAll("#rangepicker button.range")) {
      const on = normTime(b.dataset.from) === normTime(range.from) && normTime(b.dataset.to) === normTime(range.to);
      b.classList.toggle("active", on);
      b.setAttribute("aria-pressed", on ? "true" : "false");
    }
  }

  // fillCustomRange shows a drawn chart's span in the custom range inputs
  // unless the user is typing there.
  function fillCustomRange(ch) {
    for (const [id, sec] of [["range-from", ch.start], ["range-to", ch.end]]) {
      const el = $(id);
      if (el && document.activeElement !== el) el.value = fmtTime(sec);
    }
  }

  function initRangePicker() {
    const rp = $("rangepicker");
    if (!rp) return;
    for (const b of rp.querySelectorAll("button.range")) {
      b.addEventListener("click", function () {
        range = { from: b.dataset.from, to: b.dataset.to };
        markRange();
        setURLRange();
        reloadAll();
      });
    }
    markRange();
    const form = $("custom-range");
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      const f = parseDate($("range-from").value), t = parseDate($("range-to").value);
      if (isNaN(f) || isNaN(t) || f >= t) {
        alert("Give the start and the end as YYYY-MM-DD HH:MM (" + zoneLabel(Date.now()) + "), the start first.");
        return;
      }
      range = { from: String(Math.floor(f / 1000)), to: String(Math.floor(t / 1000)) };
      markRange();
      setURLRange();
      reloadAll();
    });
    let timer = null;
    $("auto-refresh").addEventListener("change", function (ev) {
      if (timer) { clearInterval(timer); timer = null; }
      if (ev.target.checked) timer = setInterval(reloadAll, 60000);
    });
    window.addEventListener("resize", function () {
      for (const el of document.querySelectorAll(".chart")) {
        if (typeof echarts !== "undefined") {
          const inst = echarts.getInstanceByDom(el);
          if (inst) inst.resize();
        }
      }
    });
  }

  function b64url(s) {
    const bytes = new TextEncoder().encode(s);
    let bin = "";
    for (const b of bytes) bin += String.fromCharCode(b);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function initDashboards() {
    for (const c of state.charts || []) {
      reloaders.push(function () { loadChart(c.id, c.spec); });
    }
    reloadAll();
  }

  function initGraph() {
    const spec = state.spec;
    const share = $("share-url");
    const live = $("live-link");
    let last = null;
    function updateShare() {
      const u = new URL(share.value || location.href, location.href);
      if (live.checked || !last) {
        u.searchParams.set("from", range.from);
        u.searchParams.set("to", range.to);
      } else {
        u.searchParams.set("from", String(last.start));
        u.searchParams.set("to", String(last.end));
      }
      // A zone chosen in the URL goes with the link (the same times for
      // the reader); without one the reader sees their own zone.
      if (wantZone) u.searchParams.set("tz", zone);
      share.value = u.toString();
      const png = $("png-link");
      if (png) {
        const p = new URL(png.getAttribute("href"), location.href);
        p.searchParams.set("from", u.searchParams.get("from"));
        p.searchParams.set("to", u.searchParams.get("to"));
        png.setAttribute("href", p.pathname + p.search);
      }
    }
    reloaders.push(async function () {
      const ch = await loadChart("main", spec);
      if (ch) { last = ch; updateShare(); }
    });
    live.addEventListener("change", updateShare);
    $("copy-link").addEventListener("click", async function () {
      try {
        await navigator.clipboard.writeText(share.value);
      } catch (e) {
        share.select();
        document.execCommand("copy");
      }
      $("copy-link").textContent = "copied";
      setTimeout(function () { $("copy-link").textContent = "copy link"; }, 1500);
    });
    const del = $("delete-graph");
    if (del) {
      del.addEventListener("click", async function () {
        if (!confirm("Delete this graph?")) return;
        try {
          await api("DELETE", "/api/v1/graphs/" + encodeURIComponent(del.dataset.id));
          location.href = "/graphs";
        } catch (e) { alert(e.message); }
      });
    }
    const cp = $("copy-graph");
    if (cp) {
      cp.addEventListener("click", async function () {
        try {
          const g = await api("POST", "/api/v1/graphs/" + encodeURIComponent(cp.dataset.id) + "/copy", {});
          location.href = g.url;
        } catch (e) { alert(e.message); }
      });
    }
    reloadAll();
  }

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
      if (typeof err.line === "number" && err.line >= 0) {
        const l = document.createElement("pre");
        l.className = "bad-line";
        l.textContent = "line " + (err.line + 1) + ": " + (currentLines()[err.line] || "");
        box.appendChild(l);
      }
      if (err.pos) {
        const p = document.createElement("div");
        p.className = "bad-token";
        p.textContent = "token " + err.pos + (err.token ? " ‘" + err.token + "’" : "");
        box.appendChild(p);
      }
    }

    let seq = 0;
    async function validate() {
      const my = ++seq;
      let res;
      try {
        res = await api("POST", "/api/v1/validate", { title: title.value, vlabel: vlabel.value, lines: currentLines(), start: range.from, end: range.to });
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
      u.searchParams.set("from", range.from);
      u.searchParams.set("to", range.to);
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
    }

    $("paste-apply").addEventListener("click", async function () {
      try {
        const res = await api("POST", "/api/v1/parse", { command: $("paste-command").value });
        title.value = res.spec.title || "";
        vlabel.value = res.spec.vlabel || "";
        lines.value = res.lines.join("\n");
        if (res.spec.start || res.spec.end) {
          range = { from: res.spec.start || "end-1d", to: res.spec.end || "now" };
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
      const spec = Object.assign({}, current, { title: t, start: range.from, end: range.to });
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

  function initTokens() {
    const body = document.querySelector("#token-list tbody"), err = $("token-error");
    async function load() {
      try {
        const r = await api("GET", "/api/v1/tokens");
        body.replaceChildren();
        for (const t of r.tokens) {
          const tr = document.createElement("tr");
          tr.dataset.id = t.id;
          const used = t.last_used_at && !t.last_used_at.startsWith("1970") ? zonedStamp(t.last_used_at) : "never";
          for (const v of [t.name, t.scope, zonedStamp(t.created_at), used]) {
            const td = document.createElement("td");
            td.textContent = v;
            tr.appendChild(td);
          }
          const td = document.createElement("td");
          const b = document.createElement("button");
          b.type = "button";
          b.className = "revoke";
          b.textContent = "revoke";
          b.addEventListener("click", async function () {
            if (!confirm("Revoke token “" + t.name + "”? Scripts using it stop working.")) return;
            try { await api("DELETE", "/api/v1/tokens/" + encodeURIComponent(t.id)); load(); } catch (e) { err.textContent = e.message; }
          });
          td.appendChild(b);
          tr.appendChild(td);
          body.appendChild(tr);
        }
      } catch (e) { err.textContent = e.message; }
    }
    $("token-form").addEventListener("submit", async function (ev) {
      ev.preventDefault();
      err.textContent = "";
      try {
        const r = await api("POST", "/api/v1/tokens", { name: $("token-name").value, scope: $("token-scope").value });
        $("token-value").value = r.secret;
        $("token-secret").hidden = false;
        $("token-name").value = "";
        load();
      } catch (e) { err.textContent = e.message; }
    });
    load();
  }

  function initMonitor() {
    const name = state.monitor;
    for (const id of state.charts || []) {
      reloaders.push(async function () {
        const el = $("chart-" + id);
        const width = el ? Math.max(200, el.clientWidth) : 800;
        const u = "/api/v1/monitors/" + encodeURIComponent(name) + "/charts/" + encodeURIComponent(id) +
          "?from=" + encodeURIComponent(range.from) + "&to=" + encodeURIComponent(range.to) + "&width=" + width;
        try { drawChart(id, await api("GET", u)); } catch (e) { setStatus(id, e.message, true); }
      });
    }
    const status = $("run-status");
    const run = $("run-now");
    if (run) {
      run.addEventListener("click", async function () {
        run.disabled = true;
        status.textContent = "queued…";
        const runsURL = "/api/v1/monitors/" + encodeURIComponent(name) + "/runs?limit=1";
        try {
          const before = await api("GET", runsURL);
          const last = before.runs.length ? before.runs[0].start : "";
          await api("POST", "/api/v1/monitors/" + encodeURIComponent(name) + "/run", {});
          // Reload once the new run is recorded (polling, for up to the timeout).
          const started = Date.now();
          const poll = async function () {
            const now = await api("GET", runsURL);
            if (now.runs.length && now.runs[0].start !== last) { location.reload(); return; }
            status.textContent = "running… " + Math.round((Date.now() - started) / 1000) + " s";
            if (Date.now() - started < 15 * 60 * 1000) setTimeout(poll, 1000);
          };
          setTimeout(poll, 500);
        } catch (e) {
          status.textContent = e.message;
          run.disabled = false;
        }
      });
    }
    const del = $("delete-monitor");
    if (del) {
      del.addEventListener("click", async function () {
        if (!confirm("Delete monitor " + name + " with its run history?")) return;
        try {
          await api("DELETE", "/api/v1/monitors/" + encodeURIComponent(name));
          location.href = "/monitors";
        } catch (e) { alert(e.message); }
      });
    }
    reloadAll();
  }

  function initMonitorEdit() {
    const def = state.definition || {};
    const env = $("mon-env");
    function addEnv(v) {
      const row = document.createElement("div");
      row.className = "env-row";
      const n = document.createElement("input");
      n.type = "text"; n.className = "env-name"; n.placeholder = "NAME"; n.value = v.name || "";
      const val = document.createElement("input");
      val.type = "text"; val.className = "env-value"; val.placeholder = "value"; val.value = v.value || "";
      const secLabel = document.createElement("label");
      const sec = document.createElement("input");
      sec.type = "checkbox"; sec.className = "env-secret"; sec.checked = !!v.secret;
      secLabel.appendChild(sec);
      secLabel.appendChild(document.createTextNode(" secret"));
      if (v.secret) val.type = "password";
      sec.addEventListener("change", function () { val.type = sec.checked ? "password" : "text"; });
      const rm = document.createElement("button");
      rm.type = "button"; rm.textContent = "remove";
      rm.addEventListener("click", function () { row.remove(); });
      row.append(n, val, secLabel, rm);
      env.appendChild(row);
    }
    $("mon-env-add").addEventListener("click", function () { addEnv({}); });
    if (state.edit) {
      const c = def.criteria || {};
      $("mon-name").value = def.name || "";
      $("mon-language").value = def.language || "python";
      $("mon-interval").value = def.interval || "";
      $("mon-timeout").value = def.timeout || "";
      $("mon-source").value = def.source || "";
      $("mon-path").value = def.path || "";
      $("mon-exit").value = (c.exit_statuses || []).join(", ");
      $("mon-must-match").value = c.must_match || "";
      $("mon-must-not-match").value = c.must_not_match || "";
      $("mon-thresholds").value = (c.thresholds || []).join("\n");
      for (const v of def.env || []) addEnv(v);
    }
    $("monitor-form").addEventListener("submit", async function (ev) {
      ev.preventDefault();
      const box = $("mon-error");
      const out = {
        name: $("mon-name").value.trim(),
        language: $("mon-language").value,
        interval: $("mon-interval").value.trim(),
        timeout: $("mon-timeout").value.trim(),
        criteria: {},
      };
      const src = $("mon-source").value, path = $("mon-path").value.trim();
      if (src.trim()) out.source = src;
      if (path) out.path = path;
      if (def.alert) out.alert = def.alert;
      const exits = $("mon-exit").value.split(/[\s,]+/).filter(Boolean);
      if (exits.length) {
        out.criteria.exit_statuses = exits.map(Number);
        if (out.criteria.exit_statuses.some(isNaN)) { box.className = "validation error"; box.textContent = "exit statuses: numbers separated by commas"; return; }
      }
      if ($("mon-must-match").value) out.criteria.must_match = $("mon-must-match").value;
      if ($("mon-must-not-match").value) out.criteria.must_not_match = $("mon-must-not-match").value;
      const th = $("mon-thresholds").value.split("\n").map(function (l) { return l.trim(); }).filter(Boolean);
      if (th.length) out.criteria.thresholds = th;
      const vars = [];
      for (const row of env.querySelectorAll(".env-row")) {
        const n = row.querySelector(".env-name").value.trim();
        if (!n) continue;
        const v = { name: n, value: row.querySelector(".env-value").value };
        if (row.querySelector(".env-secret").checked) v.secret = true;
        vars.push(v);
      }
      if (vars.length) out.env = vars;
      try {
        const m = state.edit
          ? await api("PUT", "/api/v1/monitors/" + encodeURIComponent(state.edit), out)
          : await api("POST", "/api/v1/monitors", out);
        location.href = "/monitors/" + encodeURIComponent(m.name);
      } catch (e) {
        box.className = "validation error";
        box.textContent = e.message;
      }
    });
  }

  zoneTimes();
  initZoneSelect();
  initRangePicker();
  switch (page) {
    case "monitor": initMonitor(); break;
    case "monitor-edit": initMonitorEdit(); break;
    case "dashboards": initDashboards(); break;
    case "graph": case "view": initGraph(); break;
    case "builder": initBuilder(); break;
    case "tokens": initTokens(); break;
  }
})();
