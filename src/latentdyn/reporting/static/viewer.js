/* latentdyn report viewer: precomputed trajectories embedded in the page (no network).
   Each .ld-viewer holds its data as JSON; this script (inline after each one) starts
   every viewer not started yet. */
(function () {
  "use strict";
  var COLORS = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02"];

  function bytes(b64) {
    var raw = atob(b64), out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }

  function el(tag, cls, parent) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (parent) parent.appendChild(e);
    return e;
  }

  function svgChild(svg, name, attrs) {
    var e = document.createElementNS(svg.namespaceURI, name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    svg.appendChild(e);
    return e;
  }

  // pixels: grey (h, w), or RGB (h, w, 3) interleaved when c = 3
  function paint(canvas, pixels, offset, h, w, c) {
    var small = document.createElement("canvas");
    small.width = w; small.height = h;
    var sctx = small.getContext("2d"), img = sctx.createImageData(w, h);
    c = c || 1;
    for (var i = 0; i < h * w; i++) {
      var o = offset + c * i, v = pixels[o];
      img.data[4 * i] = v;
      img.data[4 * i + 1] = c === 3 ? pixels[o + 1] : v;
      img.data[4 * i + 2] = c === 3 ? pixels[o + 2] : v;
      img.data[4 * i + 3] = 255;
    }
    sctx.putImageData(img, 0, 0);
    var ctx = canvas.getContext("2d");
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(small, 0, 0, canvas.width, canvas.height);
  }

  var W = 400, H = 190, L = 44, R = 8, TOP = 8, B = 30;

  function build(root, data) {
    if (data.average) data.trajectories.unshift(data.average);  // the viewer opens on it
    var v = { root: root, data: data, k: 0, t: 0, timer: null, frames: null, marker: null,
              values: {}, h: data.shape[0], w: data.shape[1], c: data.shape[2] || 1,
              T: data.T };
    if (data.title) el("p", "ld-title", root).textContent = data.title;
    var bar = el("div", "ld-bar", root);
    if (data.trajectories.length > 1) {
      v.pick = el("select", "ld-pick", bar);
      data.trajectories.forEach(function (tr, k) {
        var o = el("option", null, v.pick); o.value = String(k); o.textContent = tr.label;
      });
    }
    v.play = el("button", "ld-play", bar); v.play.type = "button"; v.play.textContent = "play";
    v.slider = el("input", "ld-slider", bar);
    v.slider.type = "range"; v.slider.min = "0"; v.slider.max = String(v.T);
    v.slider.step = "1"; v.slider.value = "0";
    v.slider.setAttribute("aria-label", "time step t");
    v.tOut = el("output", "ld-t", bar);
    var body = el("div", "ld-body", root);
    var scale = Math.max(1, Math.floor(168 / Math.max(v.h, v.w)));
    v.canvas = el("canvas", "ld-frame", body);
    v.canvas.width = v.w * scale; v.canvas.height = v.h * scale;
    var side = el("div", "ld-side", body);
    var holder = el("div", null, side);
    holder.innerHTML = '<svg class="ld-curves" viewBox="0 0 400 190" role="img"></svg>';
    v.svg = holder.firstChild;
    v.legend = el("ul", "ld-legend", side);
    v.reading = el("p", "ld-reading", side);
    v.frameNote = el("p", "ld-note", side);
    if (data.caption) el("p", "ld-caption", root).textContent = data.caption;
    return v;
  }

  function xOf(v, t) { return L + (W - L - R) * (v.T > 0 ? t / v.T : 0); }

  function drawCurves(v) {
    var tr = v.data.trajectories[v.k], svg = v.svg, top = 0;
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    v.legend.innerHTML = "";
    v.data.curves.forEach(function (c) {
      tr.distances[c].forEach(function (d, t) {
        top = Math.max(top, d + (tr.sem && tr.sem[c] ? tr.sem[c][t] : 0));
      });
    });
    top = top > 0 ? top * 1.05 : 1;
    var y = function (d) { return TOP + (H - TOP - B) * (1 - d / top); };
    svgChild(svg, "line", { "class": "ld-axis", x1: L, y1: H - B, x2: W - R, y2: H - B });
    svgChild(svg, "line", { "class": "ld-axis", x1: L, y1: TOP, x2: L, y2: H - B });
    svgChild(svg, "text", { "class": "ld-tick", x: (L + W - R) / 2, y: H - 2,
                            "text-anchor": "middle" }).textContent = "inference step t";
    svgChild(svg, "text", { "class": "ld-tick", x: 10, y: (TOP + H - B) / 2,
                            "text-anchor": "middle",
                            transform: "rotate(-90 10 " + (TOP + H - B) / 2 + ")" })
      .textContent = "distance ‖z(t) − ξ‖";
    [0, Math.round(v.T / 2), v.T].forEach(function (t) {
      svgChild(svg, "text", { "class": "ld-tick", x: xOf(v, t), y: H - B + 13,
                              "text-anchor": "middle" }).textContent = String(t);
    });
    [0, top].forEach(function (d) {
      svgChild(svg, "text", { "class": "ld-tick", x: L - 4, y: y(d) + 3,
                              "text-anchor": "end" }).textContent = d.toPrecision(2);
    });
    v.data.curves.forEach(function (c, i) {
      var path = tr.distances[c].map(function (d, t) {
        return (t ? "L" : "M") + xOf(v, t).toFixed(1) + " " + y(d).toFixed(1);
      }).join(" ");
      var color = COLORS[i % COLORS.length];
      if (tr.sem && tr.sem[c]) {  // mean ± SEM over the trials
        var m = tr.distances[c], e = tr.sem[c], up = [], down = [];
        m.forEach(function (d, t) {
          up.push(xOf(v, t).toFixed(1) + " " + y(d + e[t]).toFixed(1));
          down.unshift(xOf(v, t).toFixed(1) + " " + y(d - e[t]).toFixed(1));
        });
        svgChild(svg, "path", { "class": "ld-band", d: "M" + up.concat(down).join(" L") + " Z",
                                fill: color, "fill-opacity": 0.25, "data-curve": c });
      }
      svgChild(svg, "path", { "class": "ld-curve", d: path, stroke: color, "data-curve": c });
      var li = el("li", null, v.legend);
      el("span", null, li).style.background = color;
      li.appendChild(document.createTextNode(c + " "));
      v.values[c] = el("b", null, li);
    });
    v.marker = svgChild(svg, "line", { "class": "ld-marker", x1: xOf(v, 0), x2: xOf(v, 0),
                                       y1: TOP, y2: H - B });
    v.frames = bytes(tr.frames);
  }

  function show(v, t) {
    var data = v.data, tr = data.trajectories[v.k], k = 0;
    v.t = t;
    v.slider.value = String(t);
    v.tOut.textContent = "t = " + t;
    for (var i = 0; i < data.steps.length; i++) if (data.steps[i] <= t) k = i;
    paint(v.canvas, v.frames, k * v.h * v.w * v.c, v.h, v.w, v.c);
    v.canvas.setAttribute("data-frame", String(k));
    v.canvas.setAttribute("title", (tr.average ? "mean of " + tr.n + " trials' x(" :
                                     "x(") + data.steps[k] + ")");
    v.frameNote.textContent = tr.average ? "mean x(t) over " + tr.n + " trials; curves: " +
      "mean ± SEM" : "";
    data.curves.forEach(function (c) {
      var d = tr.distances[c];
      v.values[c].textContent = d[Math.min(t, d.length - 1)].toFixed(3);
    });
    v.marker.setAttribute("x1", xOf(v, t)); v.marker.setAttribute("x2", xOf(v, t));
    v.reading.textContent = tr.readings ? "classifier reads " + tr.readings[k] : "";
  }

  function label(v, text) { v.play.textContent = text; v.play.setAttribute("aria-label", text); }

  function stop(v) { clearInterval(v.timer); v.timer = null; label(v, "play"); }

  function init(root) {
    root.setAttribute("data-ready", "1");
    var v = build(root, JSON.parse(root.querySelector("script.ld-viewer-data").textContent));
    v.slider.addEventListener("input", function () { show(v, Number(v.slider.value)); });
    v.play.addEventListener("click", function () {
      if (v.timer) { stop(v); return; }
      if (v.t >= v.T) show(v, 0);
      label(v, "pause");
      v.timer = setInterval(function () {
        if (v.t >= v.T) { stop(v); return; }
        show(v, v.t + 1);
      }, 90);
    });
    if (v.pick) {
      v.pick.addEventListener("change", function () {
        v.k = Number(v.pick.value); drawCurves(v); show(v, v.t);
      });
    }
    drawCurves(v);
    show(v, 0);
  }

  var all = document.querySelectorAll(".ld-viewer:not([data-ready])");
  for (var i = 0; i < all.length; i++) init(all[i]);
})();
