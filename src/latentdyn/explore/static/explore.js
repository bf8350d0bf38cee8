/* latentdyn explore: the page's controls, requests and rendering. Plain JavaScript,
   canvas and SVG (plot.js draws, share.js keeps and shares); it talks only to the
   server that served it (/api/model, /api/image, /api/trajectory, /api/average). */
"use strict";
(function (X) {
  const $ = (sel, root) => (root || document).querySelector(sel);
  const state = { info: null, result: null, t: 0, timer: null, controller: null,
                  debounce: null, seq: 0, drawn: false, panels: [], ymax: 1, pendingT: null };

  async function api(path, options) {
    const response = await fetch(path, options);
    let body;
    try { body = await response.json(); } catch (e) { body = {}; }
    if (!response.ok) throw new Error(body.error || ("HTTP " + response.status));
    return body;
  }

  function setStatus(text, kind) {
    const el = $("#status");
    el.textContent = text;
    el.className = kind || "";
  }

  // the shown result no longer matches the controls: grey it and say why
  function markStale(why) {
    if (!state.result) return;
    document.body.classList.add("stale");
    const n = $("#notice");
    n.hidden = false;
    n.className = "stale-note";
    n.textContent = "Greyed: the panels still show the previous result (" + why + ").";
  }

  function clearStale() {
    document.body.classList.remove("stale");
    $("#notice").hidden = true;
  }

  // ------------------------------------------------------------------ controls
  const source = () => $("input[name=source]:checked").value;
  const view = () => $("input[name=view]:checked").value;

  function fillSelect(select, values, chosen) {
    select.innerHTML = "";
    for (const v of values) {
      const o = document.createElement("option");
      o.value = String(v); o.textContent = String(v);
      select.appendChild(o);
    }
    select.value = String(chosen);
  }

  function labelOptions() {
    const classes = state.info.dataset.classes;
    const select = $("#label");
    const keep = select.value;
    fillSelect(select, classes, keep !== "" && classes.includes(Number(keep)) ? keep : classes[0]);
    if (source() === "drawn") {
      const o = document.createElement("option");
      o.value = ""; o.textContent = "unknown";
      select.insertBefore(o, select.firstChild);
      select.value = "";  // a drawn digit's label is unknown until the user says
    }
  }

  function count() {
    const s = source();
    return s === "drawn" ? 0 : state.info.dataset.counts[s][$("#label").value] || 0;
  }

  function updatePick() {
    const drawn = source() === "drawn", avg = view() === "average";
    const byImages = avg && $("#vary").value === "images";
    $("#pick").hidden = drawn || byImages;
    $("#draw-panel").hidden = !drawn;
    $("#average-options").hidden = !avg;
    $("#vary option[value=images]").disabled = source() !== "train";
    if (avg && source() !== "train") $("#vary").value = "noise";
    const n = count();
    $("#index").max = String(Math.max(0, n - 1));
    $("#index-count").textContent = drawn ? "" : "of " + n + " (0.." + (n - 1) + ")";
  }

  // an integer field: its value, or an error line (a blank field is an error, never 0)
  function integer(id, name, lo, hi) {
    const raw = $(id).value.trim();
    if (raw === "") return { error: name + " is blank: enter an integer in " + lo + ".." + hi };
    const v = Number(raw);
    if (!Number.isInteger(v) || v < lo || v > hi) {
      return { error: name + " must be an integer in " + lo + ".." + hi + ", got " + raw };
    }
    return { value: v };
  }

  // the request the controls describe, or {error}
  function request() {
    const lim = state.info.limits, s = source(), avg = view() === "average";
    const body = { source: s, noise: $("#noise").value, p: Number($("#p").value),
                   mode: $("#mode").value };
    const fields = [["#steps", "steps", "T", 0, lim.max_steps],
                    ["#seed", "seed", "seed", 0, lim.max_seed]];
    if (avg) fields.push(["#trials", "trials", "N", 2, lim.max_trials]);
    const byImages = avg && $("#vary").value === "images";
    if (s !== "drawn" && !byImages) fields.push(["#index", "index", "index", 0, count() - 1]);
    for (const [id, key, name, lo, hi] of fields) {
      const r = integer(id, name, lo, hi);
      if (r.error) return { error: r.error };
      body[key] = r.value;
    }
    const label = $("#label").value;
    if (label !== "") body.label = Number(label);
    if (s === "drawn") body.pixels = drawnPixels();
    if (avg) body.vary = $("#vary").value;
    return { body: body, average: avg };
  }

  function settings() {
    return { source: source(), label: $("#label").value, index: $("#index").value,
             noise: $("#noise").value, p: $("#p").value, mode: $("#mode").value,
             steps: $("#steps").value, seed: $("#seed").value, view: view(),
             trials: view() === "average" ? $("#trials").value : "",
             vary: view() === "average" ? $("#vary").value : "", t: state.t,
             level: state.info.models.length > 1 ? $("#level").value : "" };
  }

  function saveAddress() {
    history.replaceState(null, "", X.toQuery(settings()));
  }

  // ------------------------------------------------------------------ drawing
  function setupDrawing() {
    const canvas = $("#draw");
    const ctx = canvas.getContext("2d");
    const clear = () => { ctx.fillStyle = "#000"; ctx.fillRect(0, 0, canvas.width, canvas.height); };
    clear();
    let down = false, last = null;
    const at = (e) => {
      const r = canvas.getBoundingClientRect();
      return [(e.clientX - r.left) * canvas.width / r.width,
              (e.clientY - r.top) * canvas.height / r.height];
    };
    canvas.addEventListener("pointerdown", (e) => {
      down = true; last = at(e); canvas.setPointerCapture(e.pointerId); stroke(last, last);
    });
    canvas.addEventListener("pointermove", (e) => {
      if (!down) return;
      const p = at(e); stroke(last, p); last = p;
    });
    const up = () => { if (down) { down = false; state.drawn = true; schedule(); } };
    canvas.addEventListener("pointerup", up);
    canvas.addEventListener("pointercancel", up);
    function stroke(a, b) {
      ctx.strokeStyle = "#fff"; ctx.lineCap = "round"; ctx.lineJoin = "round";
      ctx.lineWidth = canvas.width / 11;
      ctx.beginPath(); ctx.moveTo(a[0], a[1]); ctx.lineTo(b[0], b[1]); ctx.stroke();
    }
    $("#clear").addEventListener("click", () => {
      clear(); state.drawn = false; markStale("the drawing was cleared"); schedule();
    });
  }

  function drawnPixels() {
    const { h, w, c } = X.planes(state.info.dataset.shape);
    const small = document.createElement("canvas");
    small.width = w; small.height = h;
    const ctx = small.getContext("2d");
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = "high";
    ctx.drawImage($("#draw"), 0, 0, w, h);
    const data = ctx.getImageData(0, 0, w, h).data;
    const out = new Array(c * h * w);  // the grey drawing in every channel
    for (let i = 0; i < h * w; i++) {
      const v = Math.round(data[4 * i] / 255 * 1000) / 1000;
      for (let k = 0; k < c; k++) out[k * h * w + i] = v;
    }
    return out;
  }

  // ------------------------------------------------------------------ panels
  function buildPanels() {
    const root = $("#panels");
    root.innerHTML = "";
    state.panels = state.info.models.map((m) => {
      const node = $("#panel-template").content.firstElementChild.cloneNode(true);
      node.dataset.model = String(m.id);
      $(".name", node).textContent = m.name + " (" + m.kind + ", Nz = " + m.nz + ")";
      const ex = m.map.explained.map((r) => (100 * r).toFixed(1) + " %").join(", ");
      const total = (100 * (m.map.explained[0] + m.map.explained[1])).toFixed(0);
      $(".map-caption", node).textContent = "PCA of the memories: the two axes explain " + ex +
        " (" + total + " % together" + (total < 50 ? "; positions on this map are only a " +
        "rough guide, the distances above are exact" : "") + "). Dots are memories by label " +
        "(hover one to see its image), circles the concepts, the black square the abstract " +
        "concept" + (m.map.fixed_points ? ", diamonds the fixed points" : "") +
        "; the line is z(t), the red dot z(t) at the current step.";
      root.appendChild(node);
      const panel = { node, model: m, spots: [] };
      $(".curves", node).addEventListener("click", (e) => {
        if (panel.plot) showStep(panel.plot.tAt(e.clientX));
      });
      X.setupHover(panel);
      return panel;
    });
    $("#overlay-box").hidden = state.panels.length < 2;
  }

  function drawOverlay() {
    const data = state.result;
    if (state.panels.length < 2 || !data) return;
    const lv = $("#level").value;
    const list = data.results.map((res, k) => Object.assign(X.series(res, [lv])[0],
      { key: res.name, color: X.MODEL_COLORS[k % X.MODEL_COLORS.length] }));
    state.overlay = X.drawCurves($("#overlay"), list, data.steps, X.top(list),
                                 "distance to " + lv);
    $("#overlay-legend").textContent = data.results.map((r, k) => r.name + ": " +
      ["blue", "red", "green", "purple", "ochre", "grey"][k % 6]).join(", ") +
      ". Each model's distances are in its own latent space: compare the shapes and t*, " +
      "not the heights.";
  }

  // ------------------------------------------------------------------ rendering
  function render() {
    const data = state.result;
    const avg = !!data.trials;
    X.paint($("#corrupted"), X.bytes(data.input.corrupted), 0, data.input.shape);
    $("#corrupted-caption").textContent = avg ? "x(0) of trial 1" : "x(0), corrupted";
    if (data.input.clean) X.paint($("#clean"), X.bytes(data.input.clean), 0, data.input.shape);
    $("#clean").parentNode.hidden = !data.input.clean;
    const lists = data.results.map((res) => X.series(res, X.LEVELS));
    state.ymax = Math.max(...lists.map(X.top));  // one distance axis for every panel
    for (const panel of state.panels) {
      const k = data.results.findIndex((r) => r.model === panel.model.id);
      panel.result = k < 0 ? null : data.results[k];
      panel.node.hidden = k < 0;
      if (k < 0) continue;
      const res = panel.result;
      panel.frames = X.bytes(res.frames);
      panel.plot = X.drawCurves($(".curves", panel.node), lists[k], data.steps, state.ymax,
                                "distance ‖z(t) − ξ‖");
      X.fillNumbers(panel, res, data);
      if (avg) {
        $(".readings", panel.node).hidden = true;
        panel.cells = [];
        const r = res.reading;
        $(".reading", panel.node).textContent = r ? "classifier reads " + r.as_label + " of " +
          r.of + " trials as " + r.label + " at t = " + data.steps + " (most often " + r.most +
          ")" : "";
      } else {
        X.drawReadings(panel, res);
      }
    }
    drawOverlay();
    showStep(Math.min(state.t, data.steps));
  }

  function showStep(t) {
    state.t = t;
    const data = state.result;
    $("#t").value = String(t);
    $("#t-value").textContent = "t = " + t;
    if (!data) return;
    const size = X.frameSize(data.input.shape);
    for (const panel of state.panels) {
      const res = panel.result;
      if (!res) continue;
      const frame = $(".frame", panel.node);
      X.paint(frame, panel.frames, t * size, data.input.shape);
      frame.dataset.t = String(t);
      $(".frame-caption", panel.node).textContent = res.levels
        ? "mean of x(" + t + ") over " + data.trials + " trials" : "x(" + t + ")";
      for (const lv of X.LEVELS) {
        const v = res.levels ? res.levels[lv].mean[t] : res.distances[lv][t];
        $(".v-" + lv, panel.node).textContent = v.toFixed(3);
      }
      const x = panel.plot.x(t);
      panel.plot.marker.setAttribute("x1", x); panel.plot.marker.setAttribute("x2", x);
      if (res.readings) {
        $(".reading", panel.node).textContent = "classifier reads " + res.readings.labels[t] +
          " (" + res.readings.confidence[t].toFixed(2) + ")";
      }
      (panel.cells || []).forEach((c, k) => c.classList.toggle("now", k === t));
      panel.spots = X.drawMap($(".map", panel.node), panel.model.map, res.map, t);
    }
    if (state.overlay) {
      state.overlay.marker.setAttribute("x1", state.overlay.x(t));
      state.overlay.marker.setAttribute("x2", state.overlay.x(t));
    }
    clearTimeout(state.saveT);
    state.saveT = setTimeout(saveAddress, 200);
  }

  // ------------------------------------------------------------------ requests
  function schedule() {
    clearTimeout(state.debounce);
    document.body.dataset.state = "busy";
    state.debounce = setTimeout(run, 120);
  }

  async function run() {
    if (state.controller) state.controller.abort();
    const controller = new AbortController();
    state.controller = controller;
    const seq = ++state.seq;
    updatePick();
    if (source() === "drawn" && !state.drawn) {
      setStatus("draw a digit on the black square");
      document.body.dataset.state = "ready";
      return;
    }
    const req = request();
    if (req.error) {
      setStatus("error: " + req.error, "error");
      markStale("an input is not valid");
      document.body.dataset.state = "error";
      return;
    }
    saveAddress();
    showCommands(req);
    document.body.dataset.state = "busy";
    setStatus("computing…");
    try {
      const data = await api(req.average ? "/api/average" : "/api/trajectory", {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify(req.body), signal: controller.signal });
      if (seq !== state.seq) return;
      state.result = data;
      $("#t").max = String(data.steps);
      if (state.pendingT !== null) { state.t = state.pendingT; state.pendingT = null; }
      clearStale();
      render();
      setStatus((data.trials ? data.trials + " trials, " : "") + "T = " + data.steps +
                " computed in " + data.elapsed_ms + " ms");
      document.body.dataset.seq = String(seq);
      document.body.dataset.state = "ready";
    } catch (err) {
      if (err.name === "AbortError" || seq !== state.seq) return;
      setStatus("error: " + err.message, "error");
      markStale("the last request failed");
      document.body.dataset.state = "error";
    }
  }

  function showCommands(req) {
    const c = X.commands(state.info, req.body.models ? req.body : Object.assign(
      { models: state.info.models.map((m) => m.id) }, req.body), req.average);
    $("#cmd-cli").textContent = c.cli;
    $("#cmd-py").textContent = c.py;
    $("#cmd-serve").textContent = c.serve;
  }

  function togglePlay() {
    const button = $("#play");
    const label = (text) => { button.textContent = text; button.setAttribute("aria-label", text); };
    if (state.timer) { clearInterval(state.timer); state.timer = null; label("play"); return; }
    if (!state.result) return;
    if (state.t >= state.result.steps) showStep(0);
    label("pause");
    state.timer = setInterval(() => {
      if (!state.result || state.t >= state.result.steps) { togglePlay(); return; }
      showStep(state.t + 1);
    }, 90);
  }

  X.main = { state, api, setStatus, fillSelect, labelOptions, updatePick, buildPanels,
             setupDrawing, schedule, run, showStep, togglePlay, drawOverlay, markStale };
})(window.LDX = window.LDX || {});
