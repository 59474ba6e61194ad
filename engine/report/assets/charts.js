// runplan report charts: draws the charts described by RUNPLAN_CHARTS with
// uPlot. Every number was computed by runplan; this only draws. When a chart
// has drawn its lines (checked on the canvas's pixels), it is counted in the
// body's data-charts-drawn attribute, which tests read.
(function () {
  "use strict";
  var charts = window.RUNPLAN_CHARTS || [];
  var body = document.body;
  var drawn = {};
  var failed = {};
  var shaded = {};

  function fmtMs(v) {
    if (v == null || isNaN(v)) return "-";
    if (v < 1) return (v * 1000).toFixed(0) + "µs";
    if (v < 10) return v.toFixed(2) + "ms";
    if (v < 100) return v.toFixed(1) + "ms";
    if (v < 1000) return v.toFixed(0) + "ms";
    if (v < 100000) return (v / 1000).toFixed(2) + "s";
    return (v / 1000).toFixed(0) + "s";
  }
  // fmtMsTick is fmtMs for axis ticks: no trailing zeros.
  function fmtMsTick(v) {
    if (v == null || isNaN(v)) return "";
    if (v === 0) return "0";
    if (v >= 1000) return +(v / 1000).toPrecision(3) + "s";
    if (v >= 1) return +v.toPrecision(3) + "ms";
    return +(v * 1000).toPrecision(3) + "µs";
  }
  function fmtNum(v) {
    if (v == null || isNaN(v)) return "-";
    var a = Math.abs(v);
    if (a >= 1e6) return (v / 1e6).toFixed(a >= 1e7 ? 0 : 1) + "M";
    if (a >= 1e4) return (v / 1e3).toFixed(0) + "k";
    if (a >= 1e3) return (v / 1e3).toFixed(1) + "k";
    if (a >= 100 || v === Math.round(v)) return v.toFixed(0);
    return v.toFixed(a >= 10 ? 1 : 2);
  }
  function fmtUnit(unit) {
    if (unit === "ms") return fmtMs;
    if (unit === "/s") return function (v) { return v == null ? "-" : fmtNum(v) + "/s"; };
    return fmtNum;
  }
  function fmtSecs(v) {
    if (v == null) return "-";
    if (Math.abs(v) < 120) return +v.toFixed(1) + "s";
    var m = Math.floor(v / 60), s = Math.round(v - m * 60);
    return m + "m" + (s ? (s < 10 ? "0" : "") + s + "s" : "");
  }
  // Nines to a percentile: 0 → 0%, 1 → 90%, 2 → 99%, 3 → 99.9%.
  function fmtNines(x) {
    if (x == null) return "-";
    var p = 100 * (1 - Math.pow(10, -x));
    var d = Math.max(0, Math.ceil(x - 1e-9) - 2);
    return p.toFixed(Math.min(d, 6)) + "%";
  }
  function fmtDate(v) {
    if (v == null) return "-";
    return new Date(v * 1000).toISOString().replace("T", " ").slice(0, 16);
  }

  // shade draws the fault windows under the series; the charts that
  // shaded one are counted in the body's data-faults-shaded attribute.
  function shade(faults, id) {
    return {
      hooks: {
        drawClear: [function (u) {
          var ctx = u.ctx;
          var left = u.bbox.left, right = u.bbox.left + u.bbox.width;
          ctx.save();
          faults.forEach(function (f) {
            var x0 = Math.max(left, u.valToPos(f.start, "x", true));
            var x1 = Math.min(right, u.valToPos(f.end, "x", true));
            if (!(x1 > x0)) return;
            ctx.fillStyle = "rgba(207, 34, 46, 0.13)";
            ctx.fillRect(x0, u.bbox.top, x1 - x0, u.bbox.height);
            shaded[id] = true;
          });
          ctx.restore();
          body.setAttribute("data-faults-shaded", String(Object.keys(shaded).length));
        }],
        // Labels go on top of the grid and the lines.
        draw: [function (u) {
          var ctx = u.ctx, r = window.devicePixelRatio || 1;
          var left = u.bbox.left, right = u.bbox.left + u.bbox.width;
          ctx.save();
          ctx.font = "600 " + Math.round(11 * r) + "px system-ui, sans-serif";
          ctx.textBaseline = "top";
          faults.forEach(function (f, i) {
            var x0 = Math.max(left, u.valToPos(f.start, "x", true));
            var x1 = Math.min(right, u.valToPos(f.end, "x", true));
            if (!(x1 > x0)) return;
            var text = "⚡ " + f.name, y = u.bbox.top + (4 + 15 * (i % 3)) * r;
            var w = ctx.measureText(text).width;
            ctx.fillStyle = "rgba(255, 255, 255, 0.85)";
            ctx.fillRect(x0 + 2 * r, y - r, w + 4 * r, 14 * r);
            ctx.fillStyle = "rgb(164, 14, 38)";
            ctx.fillText(text, x0 + 4 * r, y);
          });
          ctx.restore();
        }]
      }
    };
  }

  // logSplits puts a log axis's ticks on powers of ten, and on 2 and 5
  // times them when the range spans few decades.
  function logSplits(u, axisIdx, min, max) {
    var out = [], lo = Math.floor(Math.log10(min)), hi = Math.ceil(Math.log10(max));
    var mults = hi - lo <= 2 ? [1, 2, 5] : [1];
    for (var e = lo; e <= hi; e++) {
      for (var m = 0; m < mults.length; m++) {
        var v = mults[m] * Math.pow(10, e);
        if (v >= min * 0.999 && v <= max * 1.001) out.push(+v.toPrecision(3));
      }
    }
    return out;
  }

  function rgb(hex) {
    var n = parseInt(hex.slice(1), 16);
    return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
  }

  // painted tells whether some series was drawn: near a data point of a
  // series, the canvas holds a pixel of that series' colour.
  function painted(u, spec) {
    for (var i = 1; i < u.data.length; i++) {
      var ys = u.data[i], idx = [];
      for (var j = 0; j < ys.length; j++) if (ys[j] != null) idx.push(j);
      if (!idx.length) continue;
      var want = rgb(spec.series[i - 1].color);
      var picks = [idx[Math.floor(idx.length / 2)], idx[0], idx[idx.length - 1]];
      for (var k = 0; k < picks.length; k++) {
        var j2 = picks[k];
        var x = Math.round(u.valToPos(u.data[0][j2], "x", true));
        var y = Math.round(u.valToPos(ys[j2], u.series[i].scale, true));
        var img = u.ctx.getImageData(x - 4, y - 4, 9, 9).data;
        for (var p = 0; p < img.length; p += 4) {
          if (img[p + 3] > 120 && Math.abs(img[p] - want[0]) + Math.abs(img[p + 1] - want[1]) + Math.abs(img[p + 2] - want[2]) < 120) {
            return true;
          }
        }
      }
    }
    return false;
  }

  function report() {
    body.setAttribute("data-charts-drawn", String(Object.keys(drawn).length));
    var f = Object.keys(failed);
    if (f.length) body.setAttribute("data-charts-failed", f.join(" "));
    else body.removeAttribute("data-charts-failed");
  }

  function xFormat(kind) {
    if (kind === "percentile") return fmtNines;
    if (kind === "date") return fmtDate;
    return fmtSecs;
  }

  function make(spec, el) {
    var width = Math.max(300, el.clientWidth || 600);
    var xf = xFormat(spec.kind);
    var series = [{ label: spec.kind === "percentile" ? "percentile" : spec.kind === "date" ? "run" : "time", value: function (u, v) { return xf(v); } }];
    var axes = [{
      stroke: "#57606a",
      grid: { stroke: "#eaeef2" },
      ticks: { stroke: "#d0d7de" },
      // Dates keep uPlot's own tick labels, which adapt to the span.
      values: spec.kind === "date" ? undefined : function (u, vals) { return vals.map(xf); }
    }];
    var scales = { x: { time: spec.kind === "date" } };
    if (spec.kind === "percentile") {
      scales.x.range = function (u, min, max) { return [0, Math.max(max, 2)]; };
      axes[0].splits = function (u) {
        var out = [], max = u.scales.x.max;
        for (var n = 0; n <= max + 1e-9; n++) out.push(n);
        return out;
      };
    }
    var units = [];
    spec.series.forEach(function (s) {
      var axis = s.axis || 0;
      var scale = "y" + axis;
      if (!scales[scale]) {
        var log = spec.log && axis === 0;
        scales[scale] = log ? {
          distr: 3, log: 10,
          // Whole decades, so that the lowest line always has a tick below it.
          range: function (u, min, max) {
            if (min == null || !(min > 0)) return [0.1, 1000];
            var lo = Math.pow(10, Math.floor(Math.log10(min))), hi = Math.pow(10, Math.ceil(Math.log10(max)));
            return [lo, hi > lo ? hi : lo * 10];
          }
        } : {
          range: function (u, min, max) { return [Math.min(0, min || 0), max > 0 ? max * 1.1 : 1]; }
        };
        var uf = s.unit === "ms" ? fmtMsTick : fmtUnit(s.unit);
        axes.push({
          splits: log ? logSplits : undefined,
          scale: scale,
          side: axis ? 1 : 3,
          stroke: axis ? s.color : "#57606a",
          grid: { show: !axis, stroke: "#eaeef2" },
          ticks: { stroke: "#d0d7de" },
          size: 60,
          values: function (u, vals) { return vals.map(uf); }
        });
      }
      units.push(s.unit);
      var f = fmtUnit(s.unit);
      var opt = {
        label: s.label,
        stroke: s.color,
        width: s.points ? 0 : 1.6,
        scale: scale,
        // A trend joins the runs that have the figure; a time series shows
        // an interval with nothing completed as a gap.
        spanGaps: spec.kind === "date",
        value: function (u, v) { return f(v); },
        // Markers where a point has no neighbour to join, as in a sparse series.
        points: { show: !!s.points || (spec.kind !== "percentile" && spec.x.length <= 120), size: s.points ? 8 : 4, fill: s.color, stroke: s.color }
      };
      if (s.dash) opt.dash = [5, 4];
      if (s.points) opt.paths = function () { return null; };
      series.push(opt);
    });
    var plugins = [];
    if (spec.kind === "time" && spec.faults && spec.faults.length) plugins.push(shade(spec.faults, spec.id));
    var opts = {
      title: spec.title,
      width: width,
      height: 260,
      series: series,
      scales: scales,
      axes: axes,
      plugins: plugins,
      cursor: { drag: { x: true, y: false } },
      legend: { live: true },
      hooks: {
        draw: [function (u) {
          if (painted(u, spec)) { drawn[spec.id] = true; delete failed[spec.id]; }
          else if (!drawn[spec.id]) failed[spec.id] = true;
          report();
        }]
      }
    };
    var data = [spec.x].concat(spec.series.map(function (s) { return s.values; }));
    return new uPlot(opts, data, el);
  }

  var plots = [];
  charts.forEach(function (spec) {
    var el = document.getElementById("chart-" + spec.id);
    if (!el) { failed[spec.id] = true; return; }
    try {
      plots.push([make(spec, el), el]);
    } catch (e) {
      failed[spec.id] = true;
      body.setAttribute("data-chart-error", String(e && e.message || e));
    }
  });
  report();

  var pending = 0;
  window.addEventListener("resize", function () {
    clearTimeout(pending);
    pending = setTimeout(function () {
      plots.forEach(function (p) { p[0].setSize({ width: Math.max(300, p[1].clientWidth), height: 260 }); });
    }, 100);
  });
})();
