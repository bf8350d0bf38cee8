/* latentdyn explore: keeping and sharing a view -- every setting in the address
   (a reload or a pasted link restores the view), the result exported as JSON, CSV or
   PNG, and the command and Python call that compute the same numbers. */
"use strict";
(function (X) {
  // the address keys, in order; a drawing is not kept in the address
  const KEYS = ["source", "label", "index", "noise", "p", "mode", "steps", "seed", "view",
                "trials", "vary", "t", "level"];

  function toQuery(settings) {
    const q = new URLSearchParams();
    for (const k of KEYS) {
      const v = settings[k];
      if (v === undefined || v === null || v === "") continue;
      q.set(k, Array.isArray(v) ? v.join(",") : String(v));
    }
    return "?" + q.toString();
  }

  function fromQuery(search) {
    const q = new URLSearchParams(search);
    const out = {};
    for (const k of KEYS) if (q.has(k)) out[k] = q.get(k);
    return out;
  }

  function download(name, blob) {
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = name;
    document.body.appendChild(a);
    a.click();
    setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
  }

  function stem(data) {
    const r = data.request;
    const what = r.source === "train" || r.source === "test"
      ? r.source + "-" + r.label + (r.index === null ? "" : "-" + r.index) : r.source;
    return "latentdyn-" + (data.results[0].levels ? "average" + data.trials + "-" : "") +
      what + "-" + r.noise + "-p" + r.p + "-T" + r.steps + "-seed" + r.seed;
  }

  // one row per model, level, statistic (distance / mean / sem / trial k) and t
  function csv(data) {
    const rows = ["model,level,statistic,t,value"];
    for (const res of data.results) {
      const name = '"' + String(res.name).replace(/"/g, '""') + '"';
      for (const lv of X.LEVELS) {
        const add = (stat, values) => values.forEach((v, t) =>
          rows.push([name, lv, stat, t, v].join(",")));
        if (res.levels) {
          add("mean", res.levels[lv].mean);
          add("sem", res.levels[lv].sem);
          res.levels[lv].traces.forEach((tr, k) => add("trial " + k, tr));
        } else {
          add("distance", res.distances[lv]);
        }
      }
    }
    return rows.join("\n") + "\n";
  }

  function svgImage(el) {
    return new Promise((resolve, reject) => {
      const text = new XMLSerializer().serializeToString(el);
      const url = URL.createObjectURL(new Blob([text], { type: "image/svg+xml" }));
      const img = new Image();
      img.onload = () => { URL.revokeObjectURL(url); resolve(img); };
      img.onerror = () => { URL.revokeObjectURL(url); reject(new Error("svg")); };
      img.src = url;
    });
  }

  // every panel side by side: title, x(t), the curves and the map, with the settings
  async function png(panels, title) {
    const pw = 440, ph = 24 + 170 + 220 + 330;
    const canvas = document.createElement("canvas");
    canvas.width = pw * panels.length + 20; canvas.height = ph + 46;
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.fillStyle = "#222"; ctx.font = "13px sans-serif";
    ctx.fillText(title, 10, 18);
    for (let k = 0; k < panels.length; k++) {
      const node = panels[k].node, x = 10 + k * pw;
      ctx.font = "bold 13px sans-serif";
      ctx.fillText(node.querySelector(".name").textContent, x, 40);
      ctx.drawImage(node.querySelector(".frame"), x, 50, 160, 160);
      ctx.font = "12px sans-serif";
      ctx.fillText(node.querySelector(".frame-caption").textContent, x + 170, 70);
      const img = await svgImage(node.querySelector(".curves"));
      ctx.drawImage(img, x, 216, 420, 210);
      ctx.drawImage(node.querySelector(".map"), x, 432, 420, 320);
    }
    return new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
  }

  function pyValue(v) {
    if (v === null || v === undefined) return "None";
    if (typeof v === "string") return '"' + v + '"';
    if (Array.isArray(v)) return "[" + v.map(pyValue).join(", ") + "]";
    return String(v);
  }

  // the `latentdyn` command(s) and Python call computing the numbers on the page
  function commands(info, req, average) {
    const paths = info.models.map((m) => m.source || ("MODEL" + m.id));
    const clf = info.classifier ? (info.classifier.source || "CLASSIFIER") : null;
    const fields = Object.assign({}, req);
    if (fields.source === "drawn") fields.pixels = "PIXELS";
    const args = Object.keys(fields).filter((k) => fields[k] !== undefined && fields[k] !== null)
      .map((k) => k + "=" + (k === "pixels" ? "pixels" : pyValue(fields[k])));
    const fn = average ? "average" : "trajectory";
    const py = "from latentdyn.explore import load_explorer, " + fn + "\n" +
      "ex = load_explorer(" + pyValue(paths) + (clf ? ", " + pyValue(clf) : "") + ")\n" +
      (fields.source === "drawn" ? "pixels = [...]  # the drawing: export JSON holds it\n" : "") +
      "result = " + fn + "(ex, " + args.join(", ") + ")";
    let cli;
    if (average && req.vary === "images") {
      cli = req.models.map((k) => "latentdyn dynamics --model " + paths[k] + " --label " +
        req.label + " --noise " + req.noise + " --p " + req.p + " --trials " + req.trials +
        " --steps " + req.steps + " --mode " + req.mode + " --seed " + req.seed +
        " --out " + info.models[k].name.replace(/[^\w.-]/g, "_") + "-avg.npz").join("\n");
    } else {
      cli = "# no command runs " + (average ? "N corruptions of one chosen image" :
        "one chosen image") + "; the Python call below does.\n# The averaged view over " +
        "images of the label is `latentdyn dynamics --label`.";
    }
    const serve = "latentdyn explore " + paths.map((p) => "--model " + p).join(" ") +
      (clf ? " --classifier " + clf : "") + "   # then open this page's address";
    return { cli: cli, py: py, serve: serve };
  }

  Object.assign(X, { toQuery, fromQuery, download, stem, csv, png, commands });
})(window.LDX = window.LDX || {});
