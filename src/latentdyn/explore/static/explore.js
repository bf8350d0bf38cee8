/* latentdyn explore: the page's script. Plain JavaScript, canvas and SVG; it talks
   only to the server that served it (/api/model, /api/image, /api/trajectory). */
"use strict";
(function () {
  const LEVELS = ["memory", "concept", "abstract"];
  const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
                   "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
  const $ = (sel, root) => (root || document).querySelector(sel);
  const state = { info: null, result: null, t: 0, timer: null, controller: null,
                  debounce: null, seq: 0, drawn: false, panels: [] };

  // ------------------------------------------------------------------ helpers
  async function api(path, options) {
    const response = await fetch(path, options);
    let body;
    try { body = await response.json(); } catch (e) { body = {}; }
    if (!response.ok) throw new Error(body.error || ("HTTP " + response.status));
    return body;
  }

  function bytes(b64) {
    const raw = atob(b64);
    const out = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }

  // an image shape [H, W] (grey) or [C, H, W] (channels first, as the data set holds
  // them; C = 3 or 4 shows RGB, any other C its first channel)
  function planes(shape) {
    const [h, w] = shape.slice(-2);
    return { h: h, w: w, c: shape.length === 3 ? shape[0] : 1 };
  }

  function paint(canvas, pixels, offset, h, w, c) {
    const small = document.createElement("canvas");
    small.width = w; small.height = h;
    const sctx = small.getContext("2d");
    const img = sctx.createImageData(w, h);
    const rgb = c === 3 || c === 4, n = h * w;
    for (let i = 0; i < n; i++) {
      const v = pixels[offset + i];
      img.data[4 * i] = v;
      img.data[4 * i + 1] = rgb ? pixels[offset + n + i] : v;
      img.data[4 * i + 2] = rgb ? pixels[offset + 2 * n + i] : v;
      img.data[4 * i + 3] = 255;
    }
    sctx.putImageData(img, 0, 0);
    const ctx = canvas.getContext("2d");
    ctx.imageSmoothingEnabled = false;
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(small, 0, 0, canvas.width, canvas.height);
  }

  function svg(name, attrs, parent) {
    const el = document.createElementNS(parent.namespaceURI, name);  // the page's <svg>
    for (const k in attrs) el.setAttribute(k, attrs[k]);
    parent.appendChild(el);
    return el;
  }

  function fmt(v) { return v.toFixed(3); }

  function setStatus(text, kind) {
    const el = $("#status");
    el.textContent = text;
    el.className = kind || "";
  }

  // ------------------------------------------------------------------ controls
  function source() { return $("input[name=source]:checked").value; }

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
    const known = keep !== "" && classes.includes(Number(keep));
    fillSelect(select, classes, known ? keep : classes[0]);
    if (source() === "drawn") {
      const o = document.createElement("option");
      o.value = ""; o.textContent = "unknown";
      select.insertBefore(o, select.firstChild);
      select.value = "";  // a drawn digit's label is unknown until the user says
    }
  }

  function count() {
    const s = source();
    if (s === "drawn") return 0;
    return state.info.dataset.counts[s][$("#label").value] || 0;
  }

  function updatePick() {
    const drawn = source() === "drawn";
    $("#pick").hidden = drawn;
    $("#draw-panel").hidden = !drawn;
    const n = count();
    const index = $("#index");
    index.max = String(Math.max(0, n - 1));
    $("#index-count").textContent = drawn ? "" : "of " + n + " (0.." + (n - 1) + ")";
  }

  function request() {
    const s = source();
    const body = { source: s, noise: $("#noise").value, p: Number($("#p").value),
                   mode: $("#mode").value, steps: Number($("#steps").value),
                   seed: Number($("#seed").value) };
    const label = $("#label").value;
    if (label !== "") body.label = Number(label);
    if (s === "drawn") body.pixels = drawnPixels();
    else body.index = Number($("#index").value);
    return body;
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
    $("#clear").addEventListener("click", () => { clear(); state.drawn = false; schedule(); });
  }

  function drawnPixels() {
    const { h, w, c } = planes(state.info.dataset.shape);
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
      $(".map-caption", node).textContent = "PCA of the memories (explained " + ex +
        "): dots are memories by label, circles the concepts, the black square the " +
        "abstract concept" + (m.map.fixed_points ? ", diamonds the fixed points" : "") +
        "; the line is z(t), the red dot z(t) at the current step.";
      root.appendChild(node);
      return { node, model: m };
    });
  }

  function drawCurves(panel, res) {
    const el = $(".curves", panel.node);
    el.innerHTML = "";
    const W = 420, H = 200, L = 42, R = 10, T = 10, B = 26;
    const steps = res.distances.memory.length - 1;
    let top = 0;
    for (const lv of LEVELS) for (const v of res.distances[lv]) top = Math.max(top, v);
    top = top > 0 ? top * 1.05 : 1;
    const x = (t) => L + (W - L - R) * (steps > 0 ? t / steps : 0);
    const y = (v) => T + (H - T - B) * (1 - v / top);
    svg("line", { class: "axis", x1: L, y1: H - B, x2: W - R, y2: H - B }, el);
    svg("line", { class: "axis", x1: L, y1: T, x2: L, y2: H - B }, el);
    for (const t of [0, Math.round(steps / 2), steps]) {
      svg("text", { class: "tick", x: x(t), y: H - B + 14, "text-anchor": "middle" }, el)
        .textContent = String(t);
    }
    for (const v of [0, top / 2, top]) {
      svg("text", { class: "tick", x: L - 4, y: y(v) + 3, "text-anchor": "end" }, el)
        .textContent = v.toPrecision(2);
    }
    svg("text", { class: "tick", x: W - R, y: H - 4, "text-anchor": "end" }, el).textContent = "t";
    for (const lv of LEVELS) {
      const d = res.distances[lv].map((v, t) => (t ? "L" : "M") + x(t).toFixed(1) + " " +
                                      y(v).toFixed(1)).join(" ");
      svg("path", { class: "curve curve-" + lv, d: d, "data-level": lv }, el);
    }
    panel.marker = svg("line", { class: "marker", y1: T, y2: H - B, x1: x(0), x2: x(0) }, el);
    panel.x = x;
  }

  function drawReadings(panel, res, label) {
    const el = $(".readings", panel.node);
    el.innerHTML = "";
    panel.cells = [];
    if (!res.readings) { el.hidden = true; return; }
    el.hidden = false;
    res.readings.labels.forEach((c, t) => {
      const s = document.createElement("span");
      s.textContent = String(c);
      s.title = "t = " + t + ": " + c + " (" + res.readings.confidence[t].toFixed(2) + ")";
      if (c !== label) s.className = "other";
      el.appendChild(s);
      panel.cells.push(s);
    });
  }

  function mapBounds(m, path) {
    const pts = m.memories.concat(m.concepts, [m.abstract], path || [],
                                  m.fixed_points ? m.fixed_points.points : []);
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    for (const [a, b] of pts) {
      x0 = Math.min(x0, a); x1 = Math.max(x1, a); y0 = Math.min(y0, b); y1 = Math.max(y1, b);
    }
    const pad = 0.05 * Math.max(x1 - x0, y1 - y0, 1e-6);
    return [x0 - pad, x1 + pad, y0 - pad, y1 + pad];
  }

  function drawMap(panel, t) {
    const m = panel.model.map;
    const res = panel.result;
    const path = res ? res.map : null;
    const canvas = $(".map", panel.node);
    const ctx = canvas.getContext("2d");
    const [x0, x1, y0, y1] = mapBounds(m, path);
    const sx = (a) => (a - x0) / (x1 - x0) * canvas.width;
    const sy = (b) => canvas.height - (b - y0) / (y1 - y0) * canvas.height;
    const color = (c) => PALETTE[((m.classes.indexOf(c) % 10) + 10) % 10];
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.globalAlpha = 0.3;
    m.memories.forEach(([a, b], i) => {
      ctx.fillStyle = color(m.labels[i]);
      ctx.fillRect(sx(a) - 1, sy(b) - 1, 2.5, 2.5);
    });
    ctx.globalAlpha = 1;
    ctx.font = "bold 11px sans-serif"; ctx.textAlign = "center"; ctx.textBaseline = "middle";
    m.concepts.forEach(([a, b], k) => {
      ctx.fillStyle = "#fff"; ctx.strokeStyle = color(m.classes[k]); ctx.lineWidth = 2;
      ctx.beginPath(); ctx.arc(sx(a), sy(b), 8, 0, 2 * Math.PI); ctx.fill(); ctx.stroke();
      ctx.fillStyle = "#000"; ctx.fillText(String(m.classes[k]), sx(a), sy(b));
    });
    ctx.fillStyle = "#000";
    ctx.fillRect(sx(m.abstract[0]) - 5, sy(m.abstract[1]) - 5, 10, 10);
    if (m.fixed_points) {
      ctx.strokeStyle = "#000"; ctx.lineWidth = 1.5;
      for (const [a, b] of m.fixed_points.points) {
        ctx.beginPath(); ctx.moveTo(sx(a), sy(b) - 7); ctx.lineTo(sx(a) + 7, sy(b));
        ctx.lineTo(sx(a), sy(b) + 7); ctx.lineTo(sx(a) - 7, sy(b)); ctx.closePath(); ctx.stroke();
      }
    }
    if (!path) return;
    ctx.strokeStyle = "#222"; ctx.lineWidth = 1.2;
    ctx.beginPath();
    path.forEach(([a, b], i) => (i ? ctx.lineTo(sx(a), sy(b)) : ctx.moveTo(sx(a), sy(b))));
    ctx.stroke();
    const now = path[Math.min(t, path.length - 1)];
    ctx.fillStyle = "#c0392b";
    ctx.beginPath(); ctx.arc(sx(now[0]), sy(now[1]), 5, 0, 2 * Math.PI); ctx.fill();
  }

  // ------------------------------------------------------------------ rendering
  function render() {
    const data = state.result;
    if (!data) return;
    const { h, w, c } = planes(data.input.shape);
    paint($("#clean"), bytes(data.input.clean), 0, h, w, c);
    paint($("#corrupted"), bytes(data.input.corrupted), 0, h, w, c);
    for (const panel of state.panels) {
      const res = data.results.find((r) => r.model === panel.model.id);
      panel.result = res || null;
      panel.frames = res ? bytes(res.frames) : null;
      if (!res) continue;
      drawCurves(panel, res);
      drawReadings(panel, res, res.label);
      const mem = res.memory_source === "own" ? "its own memory" :
        "nearest memory (training image " + res.memory_row + ")";
      $(".targets", panel.node).textContent = "label " + res.label + " (" + res.label_source +
        "); distances to " + mem + ", concept " + res.label + ", abstract concept; " +
        "closest: " + res.closest + ".";
    }
    showStep(Math.min(state.t, data.steps));
  }

  function showStep(t) {
    state.t = t;
    const data = state.result;
    $("#t").value = String(t);
    $("#t-value").textContent = "t = " + t;
    if (!data) return;
    const { h, w, c } = planes(data.input.shape);
    for (const panel of state.panels) {
      const res = panel.result;
      if (!res) continue;
      const frame = $(".frame", panel.node);
      paint(frame, panel.frames, t * c * h * w, h, w, c);
      frame.dataset.t = String(t);
      $(".frame-caption", panel.node).textContent = "x(" + t + ")";
      for (const lv of LEVELS) $(".v-" + lv, panel.node).textContent = fmt(res.distances[lv][t]);
      const x = panel.x(t);
      panel.marker.setAttribute("x1", x); panel.marker.setAttribute("x2", x);
      $(".reading", panel.node).textContent = res.readings ? "classifier reads " +
        res.readings.labels[t] + " (" + res.readings.confidence[t].toFixed(2) + ")" : "";
      panel.cells.forEach((c, k) => c.classList.toggle("now", k === t));
      drawMap(panel, t);
    }
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
    if (source() === "drawn" && !state.drawn) {
      setStatus("draw a digit on the black square");
      document.body.dataset.state = "ready";
      return;
    }
    document.body.dataset.state = "busy";
    setStatus("computing…");
    try {
      const data = await api("/api/trajectory", {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify(request()), signal: controller.signal });
      if (seq !== state.seq) return;
      state.result = data;
      $("#t").max = String(data.steps);
      render();
      setStatus("T = " + data.steps + " computed in " + data.elapsed_ms + " ms");
      document.body.dataset.seq = String(seq);
      document.body.dataset.state = "ready";
    } catch (err) {
      if (err.name === "AbortError" || seq !== state.seq) return;
      setStatus("error: " + err.message, "error");
      document.body.dataset.state = "error";
    }
  }

  function togglePlay() {
    const button = $("#play");
    if (state.timer) {
      clearInterval(state.timer); state.timer = null; button.textContent = "play";
      return;
    }
    if (!state.result) return;
    if (state.t >= state.result.steps) showStep(0);
    button.textContent = "pause";
    state.timer = setInterval(() => {
      if (!state.result || state.t >= state.result.steps) { togglePlay(); return; }
      showStep(state.t + 1);
    }, 90);
  }

  // ------------------------------------------------------------------ start
  function onSource() {
    labelOptions();
    updatePick();
    schedule();
  }

  async function start() {
    try {
      state.info = await api("/api/model");
    } catch (err) {
      setStatus("error: " + err.message, "error");
      document.body.dataset.state = "error";
      return;
    }
    const info = state.info, lim = info.limits;
    $("#summary").textContent = info.models.map((m) => m.name).join(" vs ") + " on " +
      info.dataset.name + (info.classifier ? "; classifier " + info.classifier.name : "");
    fillSelect($("#noise"), lim.noise_kinds, lim.defaults.noise);
    fillSelect($("#mode"), lim.modes, lim.defaults.mode);
    $("#steps").max = String(lim.max_steps);
    $("#steps").value = String(lim.defaults.steps);
    $("#seed").max = String(lim.max_seed);
    $("#p").value = String(lim.defaults.p);
    $("#p-value").textContent = Number(lim.defaults.p).toFixed(2);
    labelOptions();
    updatePick();
    buildPanels();
    setupDrawing();
    for (const r of document.querySelectorAll("input[name=source]")) {
      r.addEventListener("change", onSource);
    }
    $("#label").addEventListener("change", () => { updatePick(); schedule(); });
    for (const id of ["#index", "#noise", "#mode", "#steps", "#seed"]) {
      $(id).addEventListener("change", schedule);
    }
    $("#p").addEventListener("input", () => {
      $("#p-value").textContent = Number($("#p").value).toFixed(2);
      schedule();
    });
    $("#random").addEventListener("click", () => {
      $("#index").value = String(Math.floor(Math.random() * count()));
      schedule();
    });
    $("#t").addEventListener("input", () => showStep(Number($("#t").value)));
    $("#play").addEventListener("click", togglePlay);
    for (const panel of state.panels) drawMap(panel, 0);
    run();
  }

  document.addEventListener("DOMContentLoaded", start);
})();
