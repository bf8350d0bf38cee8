/* latentdyn explore: drawing -- images, the distance curves (one trajectory, or the
   mean ± SEM of N trials with every trace faint) and the PCA map of the memories.
   Every image goes through paint(), so grey and colour images share one path. */
"use strict";
(function (X) {
  const LEVELS = ["memory", "concept", "abstract"];
  const COLORS = { memory: "#1b9e77", concept: "#d95f02", abstract: "#7570b3" };
  const MODEL_COLORS = ["#1f4e9c", "#c0392b", "#2e8b57", "#8e44ad", "#b8860b", "#555"];
  const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
                   "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
  const GEOM = { W: 420, H: 210, L: 46, R: 10, T: 10, B: 34 };

  function bytes(b64) {
    const raw = atob(b64);
    const out = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }

  // an image shape [H, W] (grey) or [C, H, W] (channels first; C = 3 or 4 is RGB)
  function planes(shape) {
    const [h, w] = shape.slice(-2);
    return { h: h, w: w, c: shape.length === 3 ? shape[0] : 1 };
  }

  // the one place an image is drawn: uint8 pixels (C planes of h x w from offset)
  function paint(canvas, pixels, offset, shape) {
    const { h, w, c } = planes(shape);
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

  function frameSize(shape) { const p = planes(shape); return p.c * p.h * p.w; }

  function svg(name, attrs, parent) {
    const el = document.createElementNS(parent.namespaceURI, name);  // the page's <svg>
    for (const k in attrs) el.setAttribute(k, attrs[k]);
    parent.appendChild(el);
    return el;
  }

  // the series one result draws: [{key, color, mean, lo, hi, traces}]
  function series(res, levels) {
    return levels.map((lv) => {
      if (res.levels) {
        const s = res.levels[lv];
        return { key: lv, color: COLORS[lv], mean: s.mean, traces: s.traces,
                 lo: s.mean.map((m, t) => m - s.sem[t]), hi: s.mean.map((m, t) => m + s.sem[t]) };
      }
      return { key: lv, color: COLORS[lv], mean: res.distances[lv] };
    });
  }

  function top(list) {  // the largest value any series draws
    let m = 0;
    for (const s of list) {
      for (const v of s.mean) m = Math.max(m, v);
      if (s.hi) for (const v of s.hi) m = Math.max(m, v);
      if (s.traces) for (const tr of s.traces) for (const v of tr) m = Math.max(m, v);
    }
    return m > 0 ? m * 1.05 : 1;
  }

  function path(values, x, y) {
    return values.map((v, t) => (t ? "L" : "M") + x(t).toFixed(1) + " " + y(v).toFixed(1))
      .join(" ");
  }

  // curves on a shared axis 0..ymax; returns {marker, x, tAt} for the time marker
  function drawCurves(el, list, steps, ymax, ylabel) {
    el.innerHTML = "";
    const { W, H, L, R, T, B } = GEOM;
    const x = (t) => L + (W - L - R) * (steps > 0 ? t / steps : 0);
    const y = (v) => T + (H - T - B) * (1 - v / ymax);
    svg("rect", { x: 0, y: 0, width: W, height: H, fill: "#fff" }, el);
    const axis = { stroke: "#999", "stroke-width": 1 };
    svg("line", Object.assign({ x1: L, y1: H - B, x2: W - R, y2: H - B }, axis), el);
    svg("line", Object.assign({ x1: L, y1: T, x2: L, y2: H - B }, axis), el);
    const tick = { "font-size": 10, fill: "#555", "font-family": "sans-serif" };
    for (const t of [0, Math.round(steps / 4), Math.round(steps / 2),
                     Math.round(3 * steps / 4), steps]) {
      svg("text", Object.assign({ x: x(t), y: H - B + 13, "text-anchor": "middle" }, tick), el)
        .textContent = String(t);
    }
    for (const v of [0, ymax / 2, ymax]) {
      svg("text", Object.assign({ x: L - 4, y: y(v) + 3, "text-anchor": "end" }, tick), el)
        .textContent = v.toPrecision(2);
    }
    svg("text", Object.assign({ x: (L + W - R) / 2, y: H - 4, "text-anchor": "middle" }, tick),
        el).textContent = "inference step t";
    svg("text", Object.assign({ x: 11, y: (T + H - B) / 2, "text-anchor": "middle",
                                transform: "rotate(-90 11 " + (T + H - B) / 2 + ")" }, tick),
        el).textContent = ylabel;
    for (const s of list) {
      if (s.traces) {
        for (const tr of s.traces) {
          svg("path", { d: path(tr, x, y), fill: "none", stroke: s.color, "stroke-width": 0.6,
                        "stroke-opacity": 0.13, class: "trace", "data-key": s.key }, el);
        }
      }
      if (s.lo) {
        const up = s.hi.map((v, t) => x(t).toFixed(1) + " " + y(v).toFixed(1));
        const down = s.lo.map((v, t) => x(t).toFixed(1) + " " + y(v).toFixed(1)).reverse();
        svg("path", { d: "M" + up.concat(down).join(" L") + " Z", fill: s.color,
                      "fill-opacity": 0.25, stroke: "none", class: "band",
                      "data-key": s.key }, el);
      }
      svg("path", { d: path(s.mean, x, y), fill: "none", stroke: s.color,
                    "stroke-width": s.traces ? 2.2 : 1.8, class: "curve curve-" + s.key,
                    "data-level": s.key }, el);
    }
    const marker = svg("line", { class: "marker", y1: T, y2: H - B, x1: x(0), x2: x(0),
                                 stroke: "#c0392b", "stroke-width": 1,
                                 "stroke-dasharray": "3 2" }, el);
    const tAt = (clientX) => {
      const r = el.getBoundingClientRect();
      const px = (clientX - r.left) * W / r.width;
      return Math.max(0, Math.min(steps, Math.round((px - L) / (W - L - R) * steps)));
    };
    return { marker: marker, x: x, tAt: tAt };
  }

  function mapBounds(m, pathPts) {
    const pts = m.memories.concat(m.concepts, [m.abstract], pathPts || [],
                                  m.fixed_points ? m.fixed_points.points : []);
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    for (const [a, b] of pts) {
      x0 = Math.min(x0, a); x1 = Math.max(x1, a); y0 = Math.min(y0, b); y1 = Math.max(y1, b);
    }
    const pad = 0.05 * Math.max(x1 - x0, y1 - y0, 1e-6);
    return [x0 - pad, x1 + pad, y0 - pad, y1 + pad];
  }

  // the map; returns screen positions of the drawn memories (for hovering)
  function drawMap(canvas, m, pathPts, t) {
    const ctx = canvas.getContext("2d");
    const [x0, x1, y0, y1] = mapBounds(m, pathPts);
    const sx = (a) => (a - x0) / (x1 - x0) * canvas.width;
    const sy = (b) => canvas.height - (b - y0) / (y1 - y0) * canvas.height;
    const color = (c) => PALETTE[((m.classes.indexOf(c) % 10) + 10) % 10];
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.globalAlpha = 0.35;
    const spots = m.memories.map(([a, b], i) => {
      ctx.fillStyle = color(m.labels[i]);
      ctx.fillRect(sx(a) - 1, sy(b) - 1, 2.5, 2.5);
      return [sx(a), sy(b)];
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
    if (pathPts) {
      ctx.strokeStyle = "#222"; ctx.lineWidth = 1.2;
      ctx.beginPath();
      pathPts.forEach(([a, b], i) => (i ? ctx.lineTo(sx(a), sy(b)) : ctx.moveTo(sx(a), sy(b))));
      ctx.stroke();
      const now = pathPts[Math.min(t, pathPts.length - 1)];
      ctx.fillStyle = "#c0392b";
      ctx.beginPath(); ctx.arc(sx(now[0]), sy(now[1]), 5, 0, 2 * Math.PI); ctx.fill();
    }
    return spots;
  }

  // the memory drawn nearest to (px, py) in canvas pixels, within 8 px; its number or -1
  function nearestSpot(spots, px, py) {
    let best = -1, dist = 64;
    spots.forEach(([a, b], i) => {
      const d = (a - px) * (a - px) + (b - py) * (b - py);
      if (d < dist) { dist = d; best = i; }
    });
    return best;
  }

  Object.assign(X, { LEVELS, COLORS, MODEL_COLORS, bytes, planes, paint, frameSize, svg,
                     series, top, drawCurves, drawMap, nearestSpot });
})(window.LDX = window.LDX || {});
