// Draws the timeline from the JSON in #data onto one canvas: a row per process, time left to right.
// Wheel zooms around the pointer, dragging pans, hovering an op shows it. Only visible ops are drawn.
(function () {
  const D = JSON.parse(document.getElementById("data").textContent);
  const colours = ["#2e9d3e", "#d62728", "#f0a020", "#6a51a3"];  // ok, fail, info, nemesis op
  const names = ["ok", "fail", "info", "nemesis"];
  const canvas = document.getElementById("tl"), ctx = canvas.getContext("2d"), tip = document.getElementById("tip");
  const rowH = 18, left = 90, top = 22;
  const lanes = D.lanes.map(() => []);
  for (let i = 0; i < D.ops.length; i++) lanes[D.ops[i][0]].push(i);
  const endOf = (op) => (op[2] < 0 ? D.end : op[2]);
  let t0 = 0, t1 = Math.max(D.end, 1e-3), width = 800;

  function resize() {
    width = canvas.parentElement.clientWidth;
    const height = top + D.lanes.length * rowH + 10, r = window.devicePixelRatio || 1;
    canvas.width = width * r; canvas.height = height * r;
    canvas.style.width = width + "px"; canvas.style.height = height + "px";
    ctx.setTransform(r, 0, 0, r, 0, 0);
    draw();
  }
  const x = (t) => left + ((t - t0) / (t1 - t0)) * (width - left - 10);
  const tAt = (px) => t0 + ((px - left) / (width - left - 10)) * (t1 - t0);
  function firstEnding(lane, t) {  // ops in a lane are sorted by start; find the first one ending after t
    let lo = 0, hi = lane.length;
    while (lo < hi) { const m = (lo + hi) >> 1; if (D.ops[lane[m]][1] < t - D.longest) lo = m + 1; else hi = m; }
    return lo;
  }
  function niceStep(raw) {  // 1, 2 or 5 times a power of ten: ticks at round times
    const p = Math.pow(10, Math.floor(Math.log10(raw)));
    return [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw);
  }
  function draw() {
    ctx.clearRect(0, 0, width, canvas.height);
    ctx.font = "11px sans-serif";
    ctx.fillStyle = "#444";
    const step = niceStep((t1 - t0) / 8), digits = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
    for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) {
      const px = x(t);
      if (px < left) continue;
      const label = t.toFixed(digits) + " s";
      ctx.fillText(label, Math.min(px - 10, width - ctx.measureText(label).width - 2), 12);
      ctx.fillRect(px, 15, 1, 4);
    }
    D.lanes.forEach((name, li) => {
      ctx.fillStyle = li % 2 ? "#fafafa" : "#f0f0f0";
      ctx.fillRect(left, top + li * rowH, width - left, rowH - 1);
      ctx.fillStyle = "#222";
      ctx.fillText(String(name), 4, top + li * rowH + 13);
    });
    ctx.fillStyle = "rgba(148,103,189,0.3)";
    for (const f of D.faults) {
      const a = Math.max(x(f[0]), left), b = Math.min(x(f[1] < 0 ? D.end : f[1]), width);
      if (b > a) ctx.fillRect(a, top - 4, b - a, D.lanes.length * rowH + 4);
    }
    D.lanes.forEach((name, li) => {
      const y = top + li * rowH;
      const lane = lanes[li];
      for (let j = firstEnding(lane, t0); j < lane.length; j++) {
        const op = D.ops[lane[j]];
        if (op[1] > t1) break;
        if (endOf(op) < t0) continue;
        const a = Math.max(x(op[1]), left), b = Math.max(x(endOf(op)), a + 1.5);
        ctx.fillStyle = colours[op[3]];
        ctx.fillRect(a, y + 2, b - a, rowH - 5);
      }
    });
  }
  function opAt(px, py) {
    const li = Math.floor((py - top) / rowH);
    if (li < 0 || li >= D.lanes.length || px < left) return null;
    const t = tAt(px), slack = (2 * (t1 - t0)) / width, lane = lanes[li];
    for (let j = firstEnding(lane, t - slack); j < lane.length; j++) {
      const op = D.ops[lane[j]];
      if (op[1] > t + slack) break;
      if (endOf(op) >= t - slack) return op;
    }
    return null;
  }
  let drag = null;
  canvas.addEventListener("wheel", (e) => {
    e.preventDefault();
    const t = tAt(e.offsetX), k = e.deltaY > 0 ? 1.25 : 0.8;
    t0 = t - (t - t0) * k; t1 = t + (t1 - t) * k;
    draw();
  }, { passive: false });
  canvas.addEventListener("mousedown", (e) => { drag = { px: e.offsetX, t0, t1 }; });
  window.addEventListener("mouseup", () => { drag = null; });
  canvas.addEventListener("mousemove", (e) => {
    if (drag) {
      const dt = ((e.offsetX - drag.px) / (width - left - 10)) * (drag.t1 - drag.t0);
      t0 = drag.t0 - dt; t1 = drag.t1 - dt; draw(); return;
    }
    const op = opAt(e.offsetX, e.offsetY);
    if (!op) { tip.style.display = "none"; return; }
    const took = op[2] < 0 ? "never completed" : ((op[2] - op[1]) * 1000).toFixed(2) + " ms";
    tip.textContent = `process ${D.lanes[op[0]]}  ${D.fs[op[4]]} ${names[op[3]]}  at ${op[1].toFixed(6)} s, ${took}\n`
      + D.values[op[5]];
    tip.style.display = "block"; tip.style.left = e.pageX + 12 + "px"; tip.style.top = e.pageY + 12 + "px";
  });
  document.getElementById("reset").addEventListener("click", () => { t0 = 0; t1 = Math.max(D.end, 1e-3); draw(); });
  window.addEventListener("resize", resize);
  resize();
})();
