/* latentdyn explore: one model's panel -- its numbers (minima, t*, final values),
   which memory it is measured against and where z(T) ends, the classifier's readings,
   and the memory images shown while hovering the map. */
"use strict";
(function (X) {
  const $ = (sel, root) => (root || document).querySelector(sel);

  async function getJSON(path) {
    const response = await fetch(path);
    if (!response.ok) throw new Error("HTTP " + response.status);
    return response.json();
  }

  function setupHover(panel) {
    const canvas = $(".map", panel.node), tip = $(".map-tip", panel.node);
    let shownIndex = -1;
    canvas.addEventListener("mousemove", async (e) => {
      const r = canvas.getBoundingClientRect();
      const i = X.nearestSpot(panel.spots, (e.clientX - r.left) * canvas.width / r.width,
                              (e.clientY - r.top) * canvas.height / r.height);
      if (i < 0) { tip.hidden = true; shownIndex = -1; return; }
      tip.style.left = (e.clientX - r.left + 12) + "px";
      tip.style.top = (e.clientY - r.top + 12) + "px";
      if (i === shownIndex) return;
      shownIndex = i;
      const m = panel.model.map;
      const img = await getJSON("/api/image?split=train&label=" + m.labels[i] + "&index=" + m.index[i]);
      if (shownIndex !== i) return;
      X.paint($("canvas", tip), X.bytes(img.pixels), 0, img.shape);
      $("span", tip).textContent = "memory of training image " + img.row + " (label " +
        img.label + ")";
      tip.hidden = false;
      tip.dataset.row = String(img.row);
    });
    canvas.addEventListener("mouseleave", () => { tip.hidden = true; shownIndex = -1; });
  }

  function targetsText(res, data) {
    const src = data.input.source;
    if (res.levels && data.input.rows) {
      return "label " + res.label + ": " + data.trials + " training images of it, each " +
        "measured against its own memory, its concept " + res.label + " and the abstract concept.";
    }
    const mem = res.memory_source === "own"
      ? "its own memory (training image " + res.memory_row + ")"
      : "its nearest memory, that of training image " + res.memory_row + " (shown): a " +
        (src === "drawn" ? "drawing" : "test image") + " has no memory of its own, so it is " +
        "measured against the training memory nearest to its clean code in this model's " +
        "latent space; each model picks its own";
    return "label " + res.label + " (" + res.label_source + "); distances to " + mem +
      ", concept " + res.label + ", abstract concept.";
  }

  // where z(T) ends: the nearest training memory (the 2-D map cannot say)
  function endText(res, data) {
    const e = res.end, T = data.steps;
    if (!e) return "";
    if (res.levels) {
      return "At t = " + T + ", " + (e.own_memory === null ? "" : e.own_memory + " of " + e.of +
        " trials end nearest to their own memory; ") + e.label + " of " + e.of +
        " end nearest to a memory of label " + res.label + ".";
    }
    return "At t = " + T + ", z(t) is nearest to the memory of training image " + e.row +
      " (label " + e.label + ", distance " + e.distance.toFixed(3) + ")" +
      (e.row === res.memory_row ? ": its own memory." : ".");
  }

  function fillNumbers(panel, res, data) {
    for (const lv of X.LEVELS) {
      const m = res.levels ? { value: res.levels[lv].min, t: res.levels[lv].t,
                               final: res.levels[lv].final } : res.minima[lv];
      $(".m-" + lv, panel.node).textContent = m.value.toFixed(3) + " (t* = " + m.t + ")";
      $(".f-" + lv, panel.node).textContent = m.final.toFixed(3);
    }
    $(".now-head", panel.node).textContent = res.levels ? "mean at t" : "at t";
    $(".targets", panel.node).textContent = targetsText(res, data) + " " + endText(res, data);
    const mem = $(".memory-img", panel.node);
    mem.hidden = !res.memory_image;
    if (res.memory_image) X.paint(mem, X.bytes(res.memory_image), 0, data.input.shape);
  }

  function drawReadings(panel, res) {
    const el = $(".readings", panel.node);
    el.innerHTML = "";
    panel.cells = [];
    if (!res.readings) { el.hidden = true; return; }
    el.hidden = false;
    res.readings.labels.forEach((c, t) => {
      const s = document.createElement("span");
      s.textContent = String(c);
      s.title = "t = " + t + ": " + c + " (" + res.readings.confidence[t].toFixed(2) + ")";
      if (c !== res.label) s.className = "other";
      el.appendChild(s);
      panel.cells.push(s);
    });
  }

  Object.assign(X, { setupHover, targetsText, endText, fillNumbers, drawReadings });
})(window.LDX = window.LDX || {});
