/* phqwatch charts: the estimate timeline and the monthly analysis (Chart.js, served locally). */
(function () {
  "use strict";
  if (typeof Chart === "undefined") { return; }
  var BANDS = [[0, 4.5, "rgba(46,125,50,0.07)"], [4.5, 9.5, "rgba(255,235,59,0.10)"], [9.5, 14.5, "rgba(255,152,0,0.10)"],
               [14.5, 19.5, "rgba(244,81,30,0.10)"], [19.5, 27, "rgba(198,40,40,0.12)"]];
  var bandShading = {
    id: "bandShading",
    beforeDraw: function (chart) {
      var y = chart.scales.y, area = chart.chartArea, ctx = chart.ctx;
      if (!y || !area) { return; }
      ctx.save();
      BANDS.forEach(function (b) {
        var top = y.getPixelForValue(b[1]), bottom = y.getPixelForValue(b[0]);
        ctx.fillStyle = b[2];
        ctx.fillRect(area.left, top, area.right - area.left, bottom - top);
        ctx.strokeStyle = "rgba(0,0,0,0.25)"; ctx.setLineDash([4, 4]);
        ctx.beginPath(); ctx.moveTo(area.left, top); ctx.lineTo(area.right, top); ctx.stroke();
      });
      ctx.restore();
    }
  };
  function t(s) { return new Date(s).getTime(); }
  function day(ms) { return new Date(ms).toISOString().slice(0, 10); }
  function read(id) { var el = document.getElementById(id); return el ? JSON.parse(el.textContent) : null; }

  var tl = read("timeline-data");
  var canvas = document.getElementById("timeline");
  if (tl && canvas) {
    var est = tl.estimates.map(function (e) { return { x: t(e.window_end), y: e.value }; });
    var ds = [
      { label: "interval high", data: tl.estimates.map(function (e) { return { x: t(e.window_end), y: e.interval_high }; }),
        borderWidth: 0, pointRadius: 0, fill: "+1", backgroundColor: "rgba(31,95,191,0.15)" },
      { label: "interval low", data: tl.estimates.map(function (e) { return { x: t(e.window_end), y: e.interval_low }; }),
        borderWidth: 0, pointRadius: 0, fill: false },
      { label: "Estimated PHQ-9", data: est, borderColor: "#1f5fbf", backgroundColor: "#1f5fbf", pointRadius: 2,
        borderWidth: 2, fill: false, tension: 0.2 },
      { label: "Administered PHQ-9", type: "scatter",
        data: tl.administered.map(function (q) { return { x: t(q.administered_at), y: q.total }; }),
        pointStyle: "rect", pointRadius: 7, backgroundColor: "#111", borderColor: "#fff" }
    ];
    if (tl.alerts) {
      ds.push({ label: "Alerts", type: "scatter",
        data: tl.alerts.map(function (a) { return { x: t(a.created_at), y: 26, kind: a.kind, severity: a.severity }; }),
        pointStyle: "triangle", pointRadius: 8, backgroundColor: "#b3261e" });
    }
    new Chart(canvas, {
      type: "line", data: { datasets: ds }, plugins: [bandShading],
      options: {
        animation: false, parsing: true, normalized: true,
        scales: { x: { type: "linear", ticks: { callback: function (v) { return day(v); }, maxTicksLimit: 8 } },
                  y: { min: 0, max: 27, title: { display: true, text: "PHQ-9 (estimated unless administered)" } } },
        plugins: {
          legend: { labels: { filter: function (i) { return i.text.indexOf("interval") !== 0; } } },
          tooltip: { callbacks: { title: function (items) { return day(items[0].parsed.x); },
            label: function (c) {
              var raw = c.raw || {};
              if (c.dataset.label === "Alerts") { return "alert: " + raw.kind + " (" + raw.severity + ")"; }
              if (c.dataset.label === "Administered PHQ-9") { return "administered: " + c.parsed.y; }
              if (c.dataset.label === "Estimated PHQ-9") { return "estimated: " + c.parsed.y.toFixed(1); }
              return c.dataset.label + ": " + c.parsed.y.toFixed(1);
            } } }
        }
      }
    });
  }

  var mo = read("monthly-data");
  var mc = document.getElementById("monthly");
  if (mo && mc) {
    var colors = { "no chat": "#c5ccd6", normal: "#2e7d32", mild: "#c9a400", moderate: "#ef6c00", severe: "#c62828",
                   "not estimated": "#8a94a3" };
    new Chart(mc, {
      type: "bar",
      data: { labels: mo.days.map(function (d) { return d.date.slice(8); }),
              datasets: [{ label: "Day score (estimated)", data: mo.days.map(function (d) { return d.score === null ? 0 : d.score; }),
                           backgroundColor: mo.days.map(function (d) { return colors[d.level] || "#999"; }) }] },
      options: { animation: false, scales: { y: { min: 0, max: 100, ticks: { stepSize: 25 } } },
                 plugins: { tooltip: { callbacks: { label: function (c) { var d = mo.days[c.dataIndex];
                   return d.level + (d.estimate !== null ? " (estimated " + d.estimate + ")" : "") + ", " + d.turns + " messages"; } } } } }
    });
  }
})();
