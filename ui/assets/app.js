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
  // A dashboard may name its zone (state.tz); the URL's still wins.
  const wantZone = new URLSearchParams(location.search).get("tz") || state.tz || "";
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

  // SI prefixes as rrdtool's %s picks them (graph.siScale): the value is
  // scaled into [1, 1000).
  const siPrefixes = { "-18": "a", "-15": "f", "-12": "p", "-9": "n", "-6": "u", "-3": "m", "0": "", "3": "k", "6": "M", "9": "G", "12": "T", "15": "P", "18": "E" };

  // siExp is the power of 1000 (as an exponent of 10) that %s uses for v.
  function siExp(v) {
    if (!v || !isFinite(v)) return 0;
    const e = Math.floor(Math.log10(Math.abs(v)) / 3) * 3;
    return Math.max(-18, Math.min(18, e));
  }

  // trimNum: v with at most 3 significant digits, no trailing zeros.
  function trimNum(v) {
    return String(+(+v).toPrecision(3));
  }

  // fmtSI is rrdtool's "%.3lf %s" with the unit: 6.6333333 → "6.63",
  // 0.1715 s → "172 ms", 12345 req/s → "12.3 k req/s".
  function fmtSI(v, unit) {
    if (v === null || v === undefined || v === "-" || (typeof v === "number" && isNaN(v))) return "–";
    if (typeof v !== "number") return String(v);
    if (!isFinite(v)) return v > 0 ? "inf" : "-inf";
    let e = siExp(v);
    let x = +(v / Math.pow(10, e)).toPrecision(3);
    if (Math.abs(x) >= 1000 && e < 18) { e += 3; x = +(x / 1000).toPrecision(3); } // 999.6 → 1 k
    const pre = siPrefixes[String(e)];
    unit = unit || "";
    // A symbol takes the prefix (ms, kB/s); a word stands apart (k req/s).
    const u = /^[A-Za-z]{1,2}(\/s)?$/.test(unit) || !pre || !unit ? pre + unit : pre + " " + unit;
    return trimNum(x) + (u ? " " + u : "");
  }

  // fmtValue: a tooltip value with SI prefix and the chart's unit.
  function fmtValue(v, unit) { return fmtSI(v, unit); }

  // unitOf turns a vertical label into the unit shown after values: the
  // usual words become their symbols (so 0.17 seconds reads "170 ms").
  function unitOf(vlabel) {
    const l = String(vlabel || "").trim();
    const known = { seconds: "s", second: "s", sec: "s", secs: "s", bytes: "B", byte: "B", bits: "b", "bytes/s": "B/s", "bits/s": "b/s" };
    if (Object.prototype.hasOwnProperty.call(known, l.toLowerCase())) return known[l.toLowerCase()];
    return l.length <= 16 ? l : "";
  }

  // axisExp is the one SI exponent for every label of a value axis (as
  // rrdtool's axis and %S: one prefix per axis), from the largest value
  // drawn or a fixed bound.
  function axisExp(options) {
    let m = 0;
    for (const sr of [].concat(options.series || [])) {
      for (const p of sr.data || []) {
        const v = Array.isArray(p) ? p[1] : p;
        if (typeof v === "number" && isFinite(v)) m = Math.max(m, Math.abs(v));
      }
    }
    for (const ax of [].concat(options.yAxis || [])) {
      for (const b of [ax.min, ax.max]) if (typeof b === "number" && isFinite(b)) m = Math.max(m, Math.abs(b));
    }
    return siExp(m);
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
    const yAxes = [].concat(ch.options.yAxis || []);
    const unit = unitOf(yAxes.length ? yAxes[0].name : "");
    const e = axisExp(ch.options);
    for (const ax of yAxes) {
      ax.axisLabel = Object.assign({}, ax.axisLabel, {
        formatter: function (v) {
          const x = v / Math.pow(10, e);
          if (Math.abs(x) < 1e-9) return "0";
          return trimNum(x) + (siPrefixes[String(e)] ? " " + siPrefixes[String(e)] : "");
        },
      });
    }
    for (const tip of [].concat(ch.options.tooltip || [])) {
      tip.formatter = function (params) {
        const ps = [].concat(params);
        if (!ps.length) return "";
        const t = Array.isArray(ps[0].value) ? ps[0].value[0] : ps[0].axisValue;
        let out = fmtDate(t) + " " + zoneLabel(t);
        for (const p of ps) {
          if (p.seriesName === "annotations") continue;
          out += "\n" + p.marker + p.seriesName + ": " + fmtValue(Array.isArray(p.value) ? p.value[1] : p.value, unit);
        }
        for (const a of annotationsAt(ch, t)) {
          out += "\n◆ " + (a.timeEnd > a.time ? fmtDate(a.time) + "–" + fmtDate(a.timeEnd).slice(11) + " " : "") + a.text +
            (a.tags && a.tags.length ? " [" + a.tags.join(", ") + "]" : "") + " (" + a.owner + ")";
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
      if (sel.value === browserZone && !state.tz) u.searchParams.delete("tz");
      else u.searchParams.set("tz", sel.value);
      location.assign(u.toString());
    });
  }

  // Annotations: fetched once per time span (and the URL's atag filter),
  // drawn on every chart over that span.
  const annCache = {};
  const annTags = new URLSearchParams(location.search).getAll("atag");
  const annColor = "#8e44ad";

  function annotationsFor(start, end) {
    const key = start + "-" + end;
    if (!annCache[key]) {
      const u = new URL("/api/v1/annotations", location.href);
      u.searchParams.set("from", String(start * 1000));
      u.searchParams.set("to", String(end * 1000));
      for (const t of annTags) u.searchParams.append("tags", t);
      annCache[key] = api("GET", u.pathname + u.search).catch(function (e) {
        console.warn("annotations: " + e.message);
        return [];
      });
    }
    return annCache[key];
  }

  // withAnnotations adds a chart's annotations as one series: instants
  // as vertical lines, ranges as shaded areas (the tooltip names them).
  async function withAnnotations(ch) {
    const list = await annotationsFor(ch.start, ch.end);
    ch.annotations = list;
    if (!list.length || !ch.options) return ch;
    const lines = [], areas = [];
    for (const a of list) {
      const name = a.text + (a.tags && a.tags.length ? " [" + a.tags.join(", ") + "]" : "");
      if (a.timeEnd > a.time) areas.push([{ xAxis: a.time, name: name }, { xAxis: a.timeEnd }]);
      else lines.push({ xAxis: a.time, name: name });
    }
    const sr = { name: "annotations", type: "line", data: [], itemStyle: { color: annColor } };
    if (lines.length) {
      sr.markLine = { symbol: ["none", "none"], silent: true, label: { show: false }, lineStyle: { color: annColor, width: 1, type: "solid" }, data: lines };
    }
    if (areas.length) {
      sr.markArea = { silent: true, label: { show: false }, itemStyle: { color: "rgba(142,68,173,0.12)" }, data: areas };
    }
    ch.options.series = [].concat(ch.options.series || [], [sr]);
    return ch;
  }

  // annotationsAt are the annotations a tooltip at ms names: ranges over
  // it, instants within one step.
  function annotationsAt(ch, ms) {
    const near = Math.max(ch.step || 60, 1) * 1000;
    return (ch.annotations || []).filter(function (a) {
      return a.timeEnd > a.time ? ms >= a.time && ms <= a.timeEnd : Math.abs(ms - a.time) <= near;
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
    // Zoom is ours (attachZoom: a new range, fetched at its resolution,
    // in the URL): drop echarts' own slider and wheel zoom.
    delete ch.options.dataZoom;
    // One legend: the graph's, in HTML under the chart (hidden here, kept
    // so its entries can hide a series); the step/CF caption is in the
    // status line.
    for (const l of [].concat(ch.options.legend || [])) l.show = false;
    for (const t of [].concat(ch.options.title || [])) delete t.subtext;
    for (const g of [].concat(ch.options.grid || [])) g.top = 50;
    for (const g of [].concat(ch.options.grid || [])) g.bottom = 40;
    inst.setOption(ch.options, true);
    attachZoom(el, inst);
    el.onChartClick = function (ms) { annotateAt(el, ms); };
    const seriesNames = new Set([].concat(ch.options.series || []).map(function (x) { return x.name; }));
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
        row.appendChild(legendEntry(inst, e.color, e.text, !!e.color && seriesNames.has(e.text), e.markup));
      }
      // Series from outside the spec (a monitor's failed runs, annotations)
      // get their row too.
      const texts = new Set((ch.legend || []).map(function (x) { return x.text; }));
      for (const sr of [].concat(ch.options.series || [])) {
        if (texts.has(sr.name) || !sr.markLine && !sr.markArea) continue;
        const r = document.createElement("div");
        r.className = "legend-row";
        r.appendChild(legendEntry(inst, (sr.itemStyle && sr.itemStyle.color) || "#d62728", sr.name, true));
        lg.appendChild(r);
      }
    }
    setStatus(id, ch.resolution + " · " + fmtTime(ch.start) + " – " + fmtTime(ch.end) + " " + zoneLabel(ch.end * 1000), false);
    fillCustomRange(ch);
    el.dataset.start = ch.start;
    el.dataset.end = ch.end;
    el.dataset.drawn = "1";
    // For load measurements (docs/BENCHMARKS.md): when each chart was drawn.
    if (performance.mark) performance.mark("chart-drawn:" + id);
  }

  // legendEntry is one legend entry (a swatch when colored, its text);
  // one that names a series hides it on click and highlights it on hover.
  function legendEntry(inst, color, text, series, markup) {
    const item = document.createElement("span");
    item.className = "legend-item";
    if (color) {
      const sw = document.createElement("span");
      sw.className = "swatch";
      sw.style.background = color;
      item.appendChild(sw);
    }
    const t = document.createElement("span");
    t.className = "legend-text";
    if (Array.isArray(markup) && markup.length) t.appendChild(markupNodes(markup));
    else t.textContent = text;
    item.appendChild(t);
    if (series) {
      item.classList.add("toggles");
      item.dataset.series = text;
      item.title = "click to hide or show " + t.textContent;
      item.addEventListener("click", function () {
        inst.dispatchAction({ type: "legendToggleSelect", name: text });
        item.classList.toggle("off");
      });
      item.addEventListener("mouseenter", function () { inst.dispatchAction({ type: "highlight", seriesName: text }); });
      item.addEventListener("mouseleave", function () { inst.dispatchAction({ type: "downplay", seriesName: text }); });
    }
    return item;
  }

  // markupNodes builds a --pango-markup legend text from the runs the
  // server parsed (graph.MarkupRun): one span per run, its text as text,
  // its look as style properties — each value checked again against the
  // forms the server makes, never markup handed to the HTML parser.
  const markupForms = {
    color: /^(#[0-9a-f]{6}|[a-z]{1,40})$/,
    size: /^[0-9]+(\.[0-9]+)?(em|pt)$/,
    family: /^[A-Za-z0-9_ ,-]{1,100}$/,
  };
  const markupDecorations = { single: "underline", double: "underline double", low: "underline", error: "underline wavy" };
  function markupNodes(runs) {
    const frag = document.createDocumentFragment();
    for (const r of runs) {
      const sp = document.createElement("span");
      sp.className = "markup";
      sp.textContent = String(r.text || "");
      const st = sp.style;
      if (Number.isInteger(r.weight) && r.weight >= 100 && r.weight <= 1000) st.fontWeight = String(r.weight);
      if (r.italic === true) st.fontStyle = "italic";
      const deco = [];
      if (Object.prototype.hasOwnProperty.call(markupDecorations, r.underline)) deco.push(markupDecorations[r.underline]);
      if (r.strike === true) deco.push("line-through");
      if (deco.length) st.textDecoration = deco.join(" ");
      if (r.mono === true) st.fontFamily = "monospace";
      if (typeof r.family === "string" && markupForms.family.test(r.family)) st.fontFamily = r.family;
      if (typeof r.size === "string" && markupForms.size.test(r.size)) st.fontSize = r.size;
      if (r.valign === "sub" || r.valign === "super") st.verticalAlign = r.valign;
      if (typeof r.color === "string" && markupForms.color.test(r.color)) st.color = r.color;
      if (typeof r.background === "string" && markupForms.color.test(r.background)) st.backgroundColor = r.background;
      if (r.small_caps === true) st.fontVariant = "small-caps";
      frag.appendChild(sp);
    }
    return frag;
  }

  // annotateAt opens the form for a new annotation at ms under the chart
  // box el belongs to; saved, every chart is drawn again with it.
  function annotateAt(el, ms) {
    const box = el.parentElement;
    let f = box.querySelector("form.annotate");
    if (f) f.remove();
    f = document.createElement("form");
    f.className = "annotate";
    const when = document.createElement("span");
    when.className = "annotate-time";
    when.textContent = "annotation at " + fmtDate(ms, true) + " " + zoneLabel(ms);
    const text = document.createElement("input");
    text.type = "text"; text.className = "annotate-text"; text.placeholder = "what happened"; text.required = true; text.maxLength = 10000;
    const tags = document.createElement("input");
    tags.type = "text"; tags.className = "annotate-tags"; tags.placeholder = "tags, comma separated";
    const save = document.createElement("button");
    save.type = "submit"; save.className = "annotate-save"; save.textContent = "add";
    const cancel = document.createElement("button");
    cancel.type = "button"; cancel.textContent = "cancel";
    cancel.addEventListener("click", function () { f.remove(); });
    const err = document.createElement("span");
    err.className = "error";
    f.append(when, text, tags, save, cancel, err);
    f.addEventListener("submit", async function (ev) {
      ev.preventDefault();
      const tagList = tags.value.split(",").map(function (t) { return t.trim(); }).filter(Boolean);
      try {
        await api("POST", "/api/v1/annotations", { time: Math.round(ms), text: text.value, tags: tagList });
        f.remove();
        for (const k of Object.keys(annCache)) delete annCache[k];
        reloadAll();
      } catch (e) { err.textContent = e.message; }
    });
    box.appendChild(f);
    text.focus();
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
      const ch = await withAnnotations(await api("POST", "/api/v1/chart", { spec: spec, from: range.from, to: range.to, width: width }));
      drawChart(id, ch);
      return ch;
    } catch (e) {
      setStatus(id, e.message, true);
      return null;
    }
  }

  function reloadAll() { for (const f of reloaders) f(); }

  // setURLRange puts the range in the URL as a new history entry, so
  // Back returns to the range before (a zoom, a range button).
  function setURLRange() {
    const u = new URL(location.href);
    u.searchParams.set("from", range.from);
    u.searchParams.set("to", range.to);
    if (u.toString() === location.href) return;
    history.pushState({ range: range }, "", u.toString());
    markZoom();
  }

  // The range the page opened at, which "reset zoom" returns to.
  const initialRange = { from: range.from, to: range.to };

  // Back/Forward: the range of that history entry.
  window.addEventListener("popstate", function (ev) {
    const q = new URLSearchParams(location.search);
    range = ev.state && ev.state.range ? ev.state.range
      : { from: q.get("from") || initialRange.from, to: q.get("to") || initialRange.to };
    markRange();
    markZoom();
    reloadAll();
  });

  // markZoom shows the reset control while the range is not the page's own.
  function markZoom() {
    const b = $("zoom-reset");
    if (b) b.hidden = range.from === initialRange.from && range.to === initialRange.to;
    // Auto-refresh says when it is paused (the range ends in the past).
    const ar = $("auto-refresh");
    if (ar && ar.parentElement) ar.parentElement.classList.toggle("paused", pastRange());
  }

  // zoomTo shows [t0, t1] (Unix milliseconds) on every chart.
  function zoomTo(t0, t1) {
    if (!(t1 > t0)) return;
    range = { from: String(Math.floor(t0 / 1000)), to: String(Math.ceil(t1 / 1000)) };
    markRange();
    setURLRange();
    reloadAll();
  }

  // attachZoom lets a drag across a chart's plot choose a range (the
  // selection is drawn as a box over the chart) and a double-click zoom
  // out twice as wide around its middle. A click without a drag goes to
  // onClick(ms) when given (annotations).
  function attachZoom(el, inst) {
    if (el.dataset.zoom === "1") return;
    el.dataset.zoom = "1";
    const box = el.parentElement;
    let sel = null, x0 = 0, clickTimer = null;
    function plotX(ev) {
      const r = el.getBoundingClientRect();
      return [ev.clientX - r.left, ev.clientY - r.top];
    }
    function timeAt(x) {
      const i = echarts.getInstanceByDom(el);
      const v = i.convertFromPixel({ xAxisIndex: 0 }, x);
      return typeof v === "number" ? v : NaN;
    }
    el.addEventListener("mousedown", function (ev) {
      if (ev.button !== 0) return;
      const p = plotX(ev);
      const i = echarts.getInstanceByDom(el);
      if (!i || !i.containPixel({ gridIndex: 0 }, p)) return;
      ev.preventDefault();
      x0 = p[0];
      sel = document.createElement("div");
      sel.className = "zoom-selection";
      const top = el.offsetTop, left = el.offsetLeft;
      sel.style.top = top + "px";
      sel.style.height = el.offsetHeight + "px";
      sel.style.left = (left + x0) + "px";
      sel.style.width = "0px";
      sel.dataset.left = left;
      box.appendChild(sel);
    });
    window.addEventListener("mousemove", function (ev) {
      if (!sel) return;
      const x = plotX(ev)[0];
      const a = Math.min(x, x0), b = Math.max(x, x0);
      sel.style.left = (+sel.dataset.left + a) + "px";
      sel.style.width = (b - a) + "px";
    });
    window.addEventListener("mouseup", function (ev) {
      if (!sel) return;
      sel.remove();
      sel = null;
      const x = plotX(ev)[0];
      if (Math.abs(x - x0) < 5) {
        const t = timeAt(x0);
        // A click, unless it is the first of a double-click.
        clearTimeout(clickTimer);
        if (el.onChartClick && !isNaN(t)) clickTimer = setTimeout(function () { el.onChartClick(t, ev); }, 300);
        return;
      }
      const t0 = timeAt(Math.min(x, x0)), t1 = timeAt(Math.max(x, x0));
      if (isNaN(t0) || isNaN(t1)) return;
      zoomTo(t0, t1);
    });
    el.addEventListener("dblclick", function () {
      clearTimeout(clickTimer);
      const s = +el.dataset.start * 1000, e = +el.dataset.end * 1000;
      if (!(e > s)) return;
      const half = e - s;
      zoomTo(s - half / 2, Math.min(e + half / 2, Date.now()));
    });
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

  // pastRange: the range ends at a fixed time (Unix seconds) before now.
  function pastRange() {
    return /^\d+$/.test(String(range.to)) && +range.to * 1000 < Date.now() - 60000;
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
    const zr = $("zoom-reset");
    if (zr) {
      zr.addEventListener("click", function () {
        range = { from: initialRange.from, to: initialRange.to };
        markRange();
        setURLRange();
        reloadAll();
      });
    }
    markZoom();
    let timer = null;
    $("auto-refresh").addEventListener("change", function (ev) {
      if (timer) { clearInterval(timer); timer = null; }
      if (ev.target.checked) {
        timer = setInterval(function () {
          // Paused while zoomed into the past: the view would not move.
          if (pastRange()) return;
          reloadAll();
        }, 60000);
      }
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

  // getChart draws a chart the server builds (GET url with the range and width).
  async function getChart(id, url) {
    const el = $("chart-" + id);
    const u = new URL(url, location.href);
    u.searchParams.set("from", range.from);
    u.searchParams.set("to", range.to);
    u.searchParams.set("width", String(el ? Math.max(200, el.clientWidth) : 800));
    try {
      const ch = await withAnnotations(await api("GET", u.pathname + u.search));
      drawChart(id, ch);
      return ch;
    } catch (e) {
      setStatus(id, e.message, true);
      return null;
    }
  }

  function initDashboards() {
    for (const c of state.charts || []) {
      if (state.tracelog) {
        // The spec is built at each load, from the instances there are then.
        const u = "/api/v1/tracelog/charts/" + encodeURIComponent(c.id) + "?instance=" + encodeURIComponent(state.instance || "");
        reloaders.push(function () { getChart(c.id, u); });
      } else {
        reloaders.push(function () { loadChart(c.id, c.spec); });
      }
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

  // What the page scripts (boards.js, builder.js, monitors.js) use; each
  // registers its pages' init in pages, run once every script is loaded.
  const rr = window.rrdash = {
    page: page, state: state, $: $, api: api, reloaders: reloaders, reloadAll: reloadAll,
    getChart: getChart, loadChart: loadChart, drawChart: drawChart, withAnnotations: withAnnotations,
    setStatus: setStatus, markRange: markRange, b64url: b64url, zone: zone,
    get range() { return range; },
    set range(r) { range = r; },
    pages: { dashboards: initDashboards, graph: initGraph, view: initGraph, tokens: initTokens },
  };

  zoneTimes();
  initZoneSelect();
  initRangePicker();
  document.addEventListener("DOMContentLoaded", function () {
    const init = rr.pages[page];
    if (init) init();
  });
})();
