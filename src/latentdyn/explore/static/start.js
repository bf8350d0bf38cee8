/* latentdyn explore: starting the page -- the controls filled from /api/model, the
   settings of the address applied (a bad one is named, never silently replaced), and
   every control wired. */
"use strict";
(function (X) {
  const $ = (sel) => document.querySelector(sel);
  const M = X.main;

  // the address's settings onto the controls; a list of the ones that were not valid
  function applyAddress(info) {
    const q = X.fromQuery(location.search), bad = [];
    const choose = (name, values, value) => {
      if (values.map(String).includes(value)) return true;
      bad.push(name + "=" + value);
      return false;
    };
    if (q.source && choose("source", info.limits.sources, q.source)) {
      $("input[name=source][value=" + q.source + "]").checked = true;
    }
    if (q.view && choose("view", ["single", "average"], q.view)) {
      $("input[name=view][value=" + q.view + "]").checked = true;
    }
    M.labelOptions();
    if (q.label !== undefined && (q.label === "" ? $("input[name=source]:checked").value ===
        "drawn" : choose("label", info.dataset.classes, q.label))) $("#label").value = q.label;
    if (q.noise && choose("noise", info.limits.noise_kinds, q.noise)) $("#noise").value = q.noise;
    if (q.mode && choose("mode", info.limits.modes, q.mode)) $("#mode").value = q.mode;
    if (q.vary && choose("vary", info.limits.vary, q.vary)) $("#vary").value = q.vary;
    if (q.level && choose("level", X.LEVELS, q.level)) $("#level").value = q.level;
    if (q.p !== undefined) {
      const p = Number(q.p);
      if (q.p !== "" && p >= 0 && p <= 1) $("#p").value = q.p; else bad.push("p=" + q.p);
    }
    // integer fields keep what the address says: a bad one shows as the page's own error
    for (const k of ["index", "steps", "seed", "trials"]) if (q[k] !== undefined) $("#" + k).value = q[k];
    if (q.t !== undefined) {
      const t = Number(q.t);
      if (Number.isInteger(t) && t >= 0) M.state.pendingT = t; else bad.push("t=" + q.t);
    }
    $("#p-value").textContent = Number($("#p").value).toFixed(2);
    return bad;
  }

  function wire() {
    for (const r of document.querySelectorAll("input[name=source], input[name=view]")) {
      r.addEventListener("change", () => {
        if (r.name === "source") M.labelOptions();
        M.updatePick(); M.schedule();
      });
    }
    $("#label").addEventListener("change", () => { M.updatePick(); M.schedule(); });
    for (const id of ["#index", "#noise", "#mode", "#steps", "#seed", "#trials", "#vary"]) {
      $(id).addEventListener("change", () => { M.updatePick(); M.schedule(); });
    }
    $("#p").addEventListener("input", () => {
      $("#p-value").textContent = Number($("#p").value).toFixed(2);
      M.schedule();
    });
    $("#random").addEventListener("click", () => {
      const n = Number($("#index").max) + 1;
      $("#index").value = String(Math.floor(Math.random() * n));
      M.schedule();
    });
    $("#level").addEventListener("change", () => { M.drawOverlay(); M.showStep(M.state.t); });
    $("#t").addEventListener("input", () => M.showStep(Number($("#t").value)));
    $("#play").addEventListener("click", M.togglePlay);
    $("#export-json").addEventListener("click", () => {
      const d = M.state.result;
      if (d) X.download(X.stem(d) + ".json", new Blob([JSON.stringify(d, null, 1)],
                                                      { type: "application/json" }));
    });
    $("#export-csv").addEventListener("click", () => {
      const d = M.state.result;
      if (d) X.download(X.stem(d) + ".csv", new Blob([X.csv(d)], { type: "text/csv" }));
    });
    $("#export-png").addEventListener("click", async () => {
      const d = M.state.result;
      if (!d) return;
      const shown = M.state.panels.filter((p) => p.result);
      const blob = await X.png(shown, $("#summary").textContent + " | " + location.search +
                               " | t = " + M.state.t);
      X.download(X.stem(d) + "-t" + M.state.t + ".png", blob);
    });
  }

  async function start() {
    let info;
    try {
      info = await M.api("/api/model");
    } catch (err) {
      M.setStatus("error: " + err.message, "error");
      document.body.dataset.state = "error";
      return;
    }
    M.state.info = info;
    const lim = info.limits;
    $("#summary").textContent = info.models.map((m) => m.name).join(" vs ") + " on " +
      info.dataset.name + (info.classifier ? "; classifier " + info.classifier.name : "");
    M.fillSelect($("#noise"), lim.noise_kinds, lim.defaults.noise);
    M.fillSelect($("#mode"), lim.modes, lim.defaults.mode);
    $("#steps").max = String(lim.max_steps);
    $("#steps").value = String(lim.defaults.steps);
    $("#seed").max = String(lim.max_seed);
    $("#trials").max = String(lim.max_trials);
    $("#trials").value = String(lim.average_defaults.trials);
    $("#p").value = String(lim.defaults.p);
    M.buildPanels();
    const bad = applyAddress(info);
    M.updatePick();
    M.setupDrawing();
    wire();
    if (bad.length) {
      M.setStatus("error: the address has settings this page cannot use: " + bad.join(", "),
                  "error");
      document.body.dataset.state = "error";
      return;
    }
    M.run();
  }

  document.addEventListener("DOMContentLoaded", start);
})(window.LDX = window.LDX || {});
