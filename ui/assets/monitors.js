// rrdash pages: a code monitor and its edit form, on app.js's window.rrdash. User
// strings only ever go through textContent or DOM attribute values.
"use strict";

(function (rr) {
  const { $, api, state, reloaders, reloadAll, getChart, loadChart, drawChart, withAnnotations, setStatus, markRange, b64url } = rr;

  function initMonitor() {
    const name = state.monitor;
    for (const id of state.charts || []) {
      reloaders.push(async function () {
        const el = $("chart-" + id);
        const width = el ? Math.max(200, el.clientWidth) : 800;
        const u = "/api/v1/monitors/" + encodeURIComponent(name) + "/charts/" + encodeURIComponent(id) +
          "?from=" + encodeURIComponent(rr.range.from) + "&to=" + encodeURIComponent(rr.range.to) + "&width=" + width;
        try { drawChart(id, await withAnnotations(await api("GET", u))); } catch (e) { setStatus(id, e.message, true); }
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

  rr.pages.monitor = initMonitor;
  rr.pages["monitor-edit"] = initMonitorEdit;
})(window.rrdash);
